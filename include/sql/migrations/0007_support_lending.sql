-- Feed 3: cooperative-support lending (VBSP provincial branch), monthly XLSX snapshots
-- `lending/vbsp_YYYYMM.xlsx`. Amounts are in triệu đồng (million VND), exact numerics.

-- One batch's valid contract rows until it is published. The first five columns are the file's
-- own facts (its header rows and totals row), repeated on each of its rows.
CREATE TABLE staging.support_lending (
    batch_id                      bigint   NOT NULL,
    source_object                 text     NOT NULL,
    source_row                    integer  NOT NULL,
    report_date                   date     NOT NULL,  -- "Đến ngày dd/mm/yyyy" (row 2)
    fund_size_trieu               numeric  NOT NULL,  -- Tổng nguồn vốn ủy thác (C4)
    file_detail_rows              integer  NOT NULL,  -- contract rows in the file, quarantined included
    file_disbursed_total_trieu    numeric  NOT NULL,  -- the Tổng cộng row's totals, which reconciled
    file_outstanding_total_trieu  numeric  NOT NULL,  --   with all of the file's detail rows
    stt                           text,
    htx_code                      char(10) NOT NULL,  -- Mã số HTX (tax code, MST)
    htx_name                      text,
    contract_no                   text     NOT NULL,  -- Số hợp đồng
    disbursed_on                  date     NOT NULL,  -- Ngày giải ngân
    disbursed_trieu               numeric  NOT NULL,  -- Số tiền giải ngân
    outstanding_trieu             numeric  NOT NULL,  -- Dư nợ
    debt_group                    smallint CHECK (debt_group BETWEEN 1 AND 5),  -- Nhóm nợ
    due_on                        date                -- Ngày đến hạn
);
CREATE INDEX ON staging.support_lending (batch_id);

-- Every contract row of every file's current version. A file re-sent under the same name
-- replaces its predecessor's rows (merge); files of other months are kept, so each month's
-- snapshot stays available. Grain: one row per delivered contract row.
CREATE TABLE core.lending_contract (
    source_file                   text     NOT NULL,  -- path under the landing root: lending/vbsp_YYYYMM.xlsx
    report_date                   date     NOT NULL,
    fund_size_trieu               numeric  NOT NULL,
    file_detail_rows              integer  NOT NULL,
    file_disbursed_total_trieu    numeric  NOT NULL,
    file_outstanding_total_trieu  numeric  NOT NULL,
    stt                           text,
    htx_code                      char(10) NOT NULL,
    htx_name                      text,
    contract_no                   text     NOT NULL,
    disbursed_on                  date     NOT NULL,
    disbursed_trieu               numeric  NOT NULL,
    outstanding_trieu             numeric  NOT NULL,
    debt_group                    smallint,
    due_on                        date,
    batch_id                      bigint   NOT NULL,
    source_object                 text     NOT NULL,  -- the landed object the row was read from
    source_row                    integer  NOT NULL,  -- its row in sheet BaoCao
    PRIMARY KEY (batch_id, source_object, source_row)
);
CREATE INDEX ON core.lending_contract (source_file);
CREATE INDEX ON core.lending_contract (report_date);

-- One row per file (its current version): the snapshot's figures as loaded. `complete` is false
-- when quarantined rows keep the loaded figures short of the bank's own totals.
CREATE VIEW core.lending_report AS
SELECT source_file,
       batch_id,
       report_date,
       fund_size_trieu,
       count(*)                                                       AS contracts,
       sum(disbursed_trieu)                                           AS disbursed_trieu,
       sum(outstanding_trieu)                                         AS outstanding_trieu,
       count(DISTINCT htx_code) FILTER (WHERE outstanding_trieu > 0)  AS borrowers_outstanding,
       coalesce(sum(outstanding_trieu) FILTER (WHERE debt_group BETWEEN 3 AND 5), 0)
                                                                      AS npl_outstanding_trieu,
       file_detail_rows,
       file_disbursed_total_trieu,
       file_outstanding_total_trieu,
       count(*) = file_detail_rows                                    AS complete
FROM core.lending_contract
GROUP BY source_file, batch_id, report_date, fund_size_trieu, file_detail_rows,
         file_disbursed_total_trieu, file_outstanding_total_trieu;

-- The report that counts for each report date: when two files carry the same date, the one
-- delivered last (highest batch). The one place this supersession rule lives.
CREATE VIEW core.lending_report_by_date AS
SELECT DISTINCT ON (report_date) *
FROM core.lending_report
ORDER BY report_date, batch_id DESC;

-- The contracts of the newest report that counts: the fund's loan book as last reported.
CREATE VIEW core.lending_contract_current AS
SELECT c.*
FROM core.lending_contract AS c
JOIN (SELECT source_file, batch_id FROM core.lending_report_by_date
      ORDER BY report_date DESC LIMIT 1) AS newest USING (source_file, batch_id);

CREATE TABLE quarantine.support_lending (
    batch_id       bigint      NOT NULL,
    source_object  text        NOT NULL,
    source_row     integer     NOT NULL,
    reason         text        NOT NULL,  -- every failed rule: "field: message (value)", "; "-joined
    failures       jsonb       NOT NULL,  -- [{"field", "rule", "value", "message"}]
    record         jsonb       NOT NULL,  -- the row as delivered, by its Vietnamese headers
    quarantined_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (batch_id, source_object, source_row)
);
