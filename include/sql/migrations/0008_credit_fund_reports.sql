-- Feed 4: people's credit fund (QTDND) quarterly reports, one JSON file per fund and quarter.
-- Amounts are in trieu_dong (million VND), exact, as delivered (the contract's only unit).
CREATE TABLE staging.credit_fund_reports (
    batch_id                  bigint      NOT NULL,
    source_object             text        NOT NULL,
    source_row                integer     NOT NULL,
    fund_code                 char(10)    NOT NULL,
    fund_name                 text,
    period_end                date        NOT NULL,
    revision                  integer     NOT NULL,
    submitted_at              timestamptz NOT NULL,
    total_capital             numeric     NOT NULL,
    equity                    numeric     NOT NULL,
    deposits                  numeric     NOT NULL,
    loans_outstanding         numeric     NOT NULL,
    npl                       numeric     NOT NULL,
    members                   integer     NOT NULL,
    members_pending           integer,
    employees                 integer     NOT NULL,
    revenue_ytd               numeric     NOT NULL,
    revenue_from_members_ytd  numeric,
    profit_ytd                numeric     NOT NULL,
    dividend_rate_pct         numeric,
    avg_employee_income_month numeric     NOT NULL
);
CREATE INDEX ON staging.credit_fund_reports (batch_id);

-- Every report revision received, with its lineage. Which one counts is the rule of the view
-- core.credit_fund_report_latest.
CREATE TABLE core.credit_fund_report (
    fund_code                 char(10)    NOT NULL,
    fund_name                 text,
    period_end                date        NOT NULL,  -- a quarter end
    revision                  integer     NOT NULL,  -- 0 original, higher = correction
    submitted_at              timestamptz NOT NULL,
    total_capital             numeric     NOT NULL,  -- trieu_dong
    equity                    numeric     NOT NULL,
    deposits                  numeric     NOT NULL,
    loans_outstanding         numeric     NOT NULL,
    npl                       numeric     NOT NULL,  -- non-performing loan balance
    members                   integer     NOT NULL,
    members_pending           integer,
    employees                 integer     NOT NULL,
    revenue_ytd               numeric     NOT NULL,  -- cumulative from 1 January to period_end
    revenue_from_members_ytd  numeric,
    profit_ytd                numeric     NOT NULL,
    dividend_rate_pct         numeric,
    avg_employee_income_month numeric     NOT NULL,  -- trieu_dong per employee and month
    batch_id                  bigint      NOT NULL,
    source_object             text        NOT NULL,  -- the landed object
    source_row                integer     NOT NULL,
    source_file               text        NOT NULL,  -- the file's path under the landing root
    PRIMARY KEY (batch_id, source_object, source_row)
);
CREATE INDEX ON core.credit_fund_report (fund_code, period_end);
CREATE INDEX ON core.credit_fund_report (source_file);

-- The report that counts for each fund and quarter: the highest revision; ties: the later
-- submitted_at, then the later batch.
CREATE VIEW core.credit_fund_report_latest AS
SELECT DISTINCT ON (fund_code, period_end) *
FROM core.credit_fund_report
ORDER BY fund_code, period_end, revision DESC, submitted_at DESC, batch_id DESC, source_row DESC;

CREATE TABLE quarantine.credit_fund_reports (
    batch_id       bigint      NOT NULL,
    source_object  text        NOT NULL,
    source_row     integer     NOT NULL,
    reason         text        NOT NULL,  -- every failed rule: "field: message (value)", "; "-joined
    failures       jsonb       NOT NULL,  -- [{"field", "rule", "value", "message"}]
    record         jsonb       NOT NULL,  -- the report as delivered
    quarantined_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (batch_id, source_object, source_row)
);
