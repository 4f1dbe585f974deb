-- Feed 2: tax declarations (tờ khai thuế) from the provincial tax department's monthly CSV drop.
-- Staging holds one batch's (one delivered file's) valid rows until it is published.
CREATE TABLE staging.tax_declarations (
    batch_id               bigint   NOT NULL,
    source_object          text     NOT NULL,
    source_row             integer  NOT NULL,
    tax_code               text     NOT NULL,  -- Mã số thuế: 10 digits, or NNNNNNNNNN-NNN for a branch
    parent_code            char(10) NOT NULL,  -- its first 10 digits: the taxpayer a branch rolls up to
    taxpayer_name          text,               -- Tên người nộp thuế
    form_code              text     NOT NULL,  -- Mẫu tờ khai: 01/GTGT (VAT) or 03/TNDN (annual CIT)
    period_raw             text     NOT NULL,  -- Kỳ tính thuế as delivered: MM/YYYY, Qn/YYYY, YYYY
    period_kind            text     NOT NULL,  -- month, quarter or year
    period_start           date     NOT NULL,
    period_end             date     NOT NULL,
    revision               integer  NOT NULL,  -- Lần nộp: 0 original, 1, 2, … supplementary
    filed_on               date     NOT NULL,  -- Ngày nộp
    revenue_vnd            bigint,             -- Doanh thu
    profit_before_tax_vnd  bigint,             -- Lợi nhuận trước thuế (03/TNDN only)
    tax_payable_vnd        bigint,             -- Số thuế phải nộp
    record_hash            text     NOT NULL
);
CREATE INDEX ON staging.tax_declarations (batch_id);

-- Every declaration row of every current delivery (a re-sent month replaces its predecessor's
-- rows); all revisions are kept. Supersession lives in the views below.
CREATE TABLE core.tax_declaration (
    tax_code               text     NOT NULL,
    parent_code            char(10) NOT NULL,
    is_branch              boolean  GENERATED ALWAYS AS (length(tax_code) > 10) STORED,
    taxpayer_name          text,
    form_code              text     NOT NULL CHECK (form_code IN ('01/GTGT', '03/TNDN')),
    period_raw             text     NOT NULL,
    period_kind            text     NOT NULL CHECK (period_kind IN ('month', 'quarter', 'year')),
    period_start           date     NOT NULL,
    period_end             date     NOT NULL,
    revision               integer  NOT NULL CHECK (revision >= 0),
    filed_on               date     NOT NULL,
    revenue_vnd            bigint,
    profit_before_tax_vnd  bigint,
    tax_payable_vnd        bigint,
    record_hash            text     NOT NULL,
    batch_id               bigint   NOT NULL,
    source_object          text     NOT NULL,  -- the landed object (URL) the row was read from
    source_file            text     NOT NULL,  -- the delivered file's path under the landing root
    source_row             integer  NOT NULL,
    PRIMARY KEY (batch_id, source_object, source_row)
);
CREATE INDEX ON core.tax_declaration (source_file);
CREATE INDEX ON core.tax_declaration (tax_code, form_code, period_kind, period_start);
CREATE INDEX ON core.tax_declaration (parent_code);

-- The declaration that counts for each tax code, form and tax period: the highest Lần nộp
-- supersedes all earlier ones; ties go to the later Ngày nộp, then the later batch (delivery),
-- then the later row of the file. Branches (NNNNNNNNNN-NNN) are declarations of their own.
CREATE VIEW core.tax_declaration_latest AS
SELECT DISTINCT ON (tax_code, form_code, period_kind, period_start) *
FROM core.tax_declaration
ORDER BY tax_code, form_code, period_kind, period_start,
         revision DESC, filed_on DESC, batch_id DESC, source_object DESC, source_row DESC;

-- Declarations (every revision held) whose taxpayer — the parent code for a branch — is unknown
-- to the registry. They are kept in core and reported here; indicators never count them.
CREATE VIEW core.tax_declaration_unmatched AS
SELECT d.*
FROM core.tax_declaration AS d
WHERE NOT EXISTS (SELECT 1 FROM core.registration_state AS s WHERE s.entity_code = d.parent_code);

CREATE TABLE quarantine.tax_declarations (
    batch_id       bigint      NOT NULL,
    source_object  text        NOT NULL,
    source_row     integer     NOT NULL,
    reason         text        NOT NULL,  -- every failed rule: "field: message (value)", "; "-joined
    failures       jsonb       NOT NULL,  -- [{"field", "rule", "value", "message"}]
    record         jsonb       NOT NULL,  -- the row as delivered (header → text)
    quarantined_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (batch_id, source_object, source_row)
);
