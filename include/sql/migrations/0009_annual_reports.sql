-- Feed 5: cooperative annual reports, one yearly CSV file (one row per cooperative).
CREATE TABLE staging.annual_reports (
    batch_id                   bigint   NOT NULL,
    source_object              text     NOT NULL,
    source_row                 integer  NOT NULL,
    entity_code                char(10) NOT NULL,
    report_year                smallint NOT NULL,
    members                    integer  NOT NULL,
    workers                    integer  NOT NULL,
    member_workers             integer  NOT NULL,
    avg_income_per_worker_vnd  bigint   NOT NULL,
    managers                   integer  NOT NULL,
    managers_vocational        integer  NOT NULL,
    managers_college_plus      integer  NOT NULL
);
CREATE INDEX ON staging.annual_reports (batch_id);

-- Every report row of the files currently delivered, with its lineage. Which row counts for a
-- cooperative and year is core.annual_report_latest's rule.
CREATE TABLE core.annual_report (
    entity_code                char(10) NOT NULL,
    report_year                smallint NOT NULL,
    members                    integer  NOT NULL,
    workers                    integer  NOT NULL,  -- regular workers
    member_workers             integer  NOT NULL,  -- workers who are also members
    avg_income_per_worker_vnd  bigint   NOT NULL,  -- VND per worker and year
    managers                   integer  NOT NULL,
    managers_vocational        integer  NOT NULL,  -- managers with vocational training
    managers_college_plus      integer  NOT NULL,  -- managers with college degree or higher
    batch_id                   bigint   NOT NULL,
    source_object              text     NOT NULL,  -- the landed object
    source_row                 integer  NOT NULL,
    source_file                text     NOT NULL,  -- the file's path under the landing root
    PRIMARY KEY (batch_id, source_object, source_row)
);
CREATE INDEX ON core.annual_report (entity_code, report_year);
CREATE INDEX ON core.annual_report (source_file);

-- One report per cooperative and year: the row of the latest batch (a later file wins); within
-- one file, the later row.
CREATE VIEW core.annual_report_latest AS
SELECT DISTINCT ON (entity_code, report_year) *
FROM core.annual_report
ORDER BY entity_code, report_year, batch_id DESC, source_row DESC;

CREATE TABLE quarantine.annual_reports (
    batch_id       bigint      NOT NULL,
    source_object  text        NOT NULL,
    source_row     integer     NOT NULL,
    reason         text        NOT NULL,  -- every failed rule: "field: message (value)", "; "-joined
    failures       jsonb       NOT NULL,  -- [{"field", "rule", "value", "message"}]
    record         jsonb       NOT NULL,  -- the row as delivered
    quarantined_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (batch_id, source_object, source_row)
);
