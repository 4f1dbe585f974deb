-- Feed 6: plan targets, the plan's yearly target annex ("Phụ biểu 02"), XLSX files
-- `plan_targets/chi_tieu_YYYY.xlsx`. Targets are no longer reference data in the repository:
-- every delivered version of a year's annex is kept with its plan document; the latest delivered
-- version is in force from its delivery on.

-- The indicator catalogue's codes, units and breakdowns (include/reference/indicators.csv), which
-- the feed's parser checks targets against (htx.reference.indicator_catalogue).
CREATE TABLE core.ref_indicator (
    indicator_code  text    PRIMARY KEY,
    unit            text    NOT NULL CHECK (unit IN ('count', 'percent', 'trieu_dong', 'nguoi')),
    has_total       boolean NOT NULL,  -- a row with breakdown '' (the total)
    breakdown_keys  text[]  NOT NULL,  -- keys of its key=value breakdowns: sector, locality
    sector_values   text               -- which grouping sector= takes: a core.ref_vsic_division
                                       -- column (plan_sector, tht_group, lhhtx_group)
);
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON core.ref_indicator FROM htx_loader;

-- One batch's valid target rows until it is published. The first three columns are the annex's
-- own facts (title and document rows), repeated on each of its rows.
CREATE TABLE staging.plan_targets (
    batch_id            bigint   NOT NULL,
    source_object       text     NOT NULL,
    source_row          integer  NOT NULL,
    plan_year           smallint NOT NULL,  -- row 1: "… NĂM YYYY" (= the file name's year)
    plan_document_no    text     NOT NULL,  -- row 2: "Kế hoạch số <số>/KH-UBND"
    plan_document_date  date     NOT NULL,  -- row 2: "ngày dd/mm/yyyy"
    stt                 text,               -- STT (1, 1.1, …)
    indicator_name      text,               -- Chỉ tiêu, as the annex words it
    unit_label          text,               -- Đơn vị tính, as written
    indicator_code      text     NOT NULL,  -- Mã chỉ tiêu
    breakdown           text     NOT NULL,  -- Phân tổ: '' for the total, else key=value
    target              numeric  NOT NULL   -- Kế hoạch năm YYYY, in the indicator's unit
);
CREATE INDEX ON staging.plan_targets (batch_id);

-- Every target row of every delivered version (one batch = one delivery of one year's annex).
-- Nothing is replaced: a re-sent annex is a new version, and earlier ones stay on record.
CREATE TABLE core.plan_target (
    source_file         text     NOT NULL,  -- path under the landing root: plan_targets/chi_tieu_YYYY.xlsx
    plan_year           smallint NOT NULL,
    plan_document_no    text     NOT NULL,
    plan_document_date  date     NOT NULL,
    stt                 text,
    indicator_name      text,
    unit_label          text,
    indicator_code      text     NOT NULL,  -- a code of core.ref_indicator (checked by the suite)
    breakdown           text     NOT NULL,
    target              numeric  NOT NULL CHECK (target >= 0),
    batch_id            bigint   NOT NULL,
    source_object       text     NOT NULL,  -- the landed object the row was read from
    source_row          integer  NOT NULL,  -- its row in sheet ChiTieu
    PRIMARY KEY (batch_id, source_object, source_row),
    UNIQUE (batch_id, indicator_code, breakdown)  -- repeated pairs are quarantined, every one
);
CREATE INDEX ON core.plan_target (plan_year);

-- One row per delivered version of a year's annex, with its plan document and when it was in
-- force: from its delivery until the next version's. A version whose rows were all quarantined
-- is still a version (in force with no targets) and has no document number here.
CREATE VIEW core.plan_target_annex AS
WITH version AS (
    SELECT b.batch_id,
           b.source_object AS source_file,
           substring(b.source_object FROM 'chi_tieu_([0-9]{4})\.xlsx$')::smallint AS plan_year,
           (SELECT min(o.landed_at) FROM audit.landed_object AS o
            WHERE o.batch_id = b.batch_id) AS delivered_at,
           b.rows_loaded,
           b.rows_quarantined
    FROM audit.load_batch AS b
    WHERE b.feed = 'plan_targets' AND b.status IN ('merged', 'published')
)
SELECT v.plan_year, v.batch_id, v.source_file, d.plan_document_no, d.plan_document_date,
       v.delivered_at, v.rows_loaded, v.rows_quarantined,
       lead(v.batch_id) OVER later IS NULL AS in_force,
       v.delivered_at AS in_force_from,
       lead(v.delivered_at) OVER later AS in_force_until
FROM version AS v
LEFT JOIN LATERAL (SELECT t.plan_document_no, t.plan_document_date FROM core.plan_target AS t
                   WHERE t.batch_id = v.batch_id LIMIT 1) AS d ON true
WINDOW later AS (PARTITION BY v.plan_year ORDER BY v.batch_id);

CREATE TABLE quarantine.plan_targets (
    batch_id       bigint      NOT NULL,
    source_object  text        NOT NULL,
    source_row     integer     NOT NULL,
    reason         text        NOT NULL,  -- every failed rule: "field: message (value)", "; "-joined
    failures       jsonb       NOT NULL,  -- [{"field", "rule", "value", "message"}]
    record         jsonb       NOT NULL,  -- the row as delivered, by its Vietnamese headers
    quarantined_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (batch_id, source_object, source_row)
);

-- The targets in force: the latest delivered version of each year's annex (was a table loaded
-- from include/reference/plan_targets.csv). Read by include/sql/marts/900_plan_targets.sql.
DROP TABLE mart.plan_target;
CREATE VIEW mart.plan_target AS
SELECT t.plan_year, t.indicator_code, t.breakdown, t.target, t.plan_document_no,
       t.plan_document_date, a.in_force_from, t.source_file, t.batch_id
FROM core.plan_target AS t
JOIN core.plan_target_annex AS a USING (batch_id)
WHERE a.in_force;
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON mart.plan_target FROM htx_loader;

COMMENT ON VIEW mart.plan_target IS
    'Chỉ tiêu kế hoạch đang có hiệu lực: bản phụ biểu giao sau cùng của mỗi năm (nguồn 6) — the '
    'plan targets in force: of each plan year, the latest delivered version of its target annex '
    '(feed 6); earlier versions stay on record in core.plan_target';
COMMENT ON COLUMN mart.plan_target.plan_year IS 'Năm kế hoạch — plan year';
COMMENT ON COLUMN mart.plan_target.indicator_code IS 'Mã chỉ tiêu — indicator code';
COMMENT ON COLUMN mart.plan_target.breakdown IS
    'Phân tổ, rỗng là tổng số — breakdown, empty for the total';
COMMENT ON COLUMN mart.plan_target.target IS
    'Giá trị kế hoạch, cùng đơn vị với chỉ tiêu — target value, in the indicator''s unit';
COMMENT ON COLUMN mart.plan_target.plan_document_no IS
    'Số kế hoạch kèm theo phụ biểu (ví dụ 247/KH-UBND) — number of the plan document the annex '
    'belongs to';
COMMENT ON COLUMN mart.plan_target.plan_document_date IS
    'Ngày ban hành kế hoạch — date of the plan document';
COMMENT ON COLUMN mart.plan_target.in_force_from IS
    'Thời điểm nhận bản phụ biểu này, từ đó có hiệu lực — when this version of the annex was '
    'delivered, from which it is in force';
COMMENT ON COLUMN mart.plan_target.source_file IS
    'Tệp phụ biểu trong vùng tiếp nhận (plan_targets/chi_tieu_YYYY.xlsx) — the annex file under '
    'the landing root';
COMMENT ON COLUMN mart.plan_target.batch_id IS
    'Lô nạp của bản phụ biểu (audit.load_batch) — the load batch of this version';

SELECT audit.grant_core_to_analysts();
