-- The plan's indicators: the public interface read by analysts, exports and acceptance checks.
CREATE TABLE mart.plan_indicator (
    indicator_code  text    NOT NULL,
    breakdown       text    NOT NULL DEFAULT '',
    period_start    date    NOT NULL,
    period_end      date    NOT NULL,
    value           numeric NOT NULL,
    unit            text    NOT NULL CHECK (unit IN ('count', 'percent', 'trieu_dong', 'nguoi')),
    target          numeric,
    attainment_pct  numeric,
    PRIMARY KEY (indicator_code, breakdown, period_start, period_end)
);

-- Which periods the marts cover: every year-to-date period and every full calendar year.
CREATE TABLE mart.reporting_period (
    period_start  date NOT NULL,
    period_end    date NOT NULL,
    months        smallint NOT NULL,
    PRIMARY KEY (period_start, period_end)
);

CREATE TABLE mart.refresh_log (
    refreshed_at  timestamptz NOT NULL DEFAULT now(),
    periods       integer     NOT NULL,
    indicator_rows integer    NOT NULL,
    dag_run_id    text
);
