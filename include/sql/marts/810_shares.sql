-- Shares, in percent of a whole, from the values already derived: each row of the part whose
-- breakdown is like part_breakdown, over the whole's total ('' breakdown) of the same period,
-- when that is above 0, in the share's unit (core.ref_indicator).
INSERT INTO mart.plan_indicator (indicator_code, breakdown, period_start, period_end, value, unit)
SELECT s.share_code, part.breakdown, part.period_start, part.period_end,
       part.value * 100 / whole.value, c.unit
FROM (VALUES ('HTX_SECTOR_SHARE',     'HTX_BY_SECTOR',  'sector=%', 'HTX_TOTAL'),
             ('THT_SECTOR_SHARE',     'THT_TOTAL',      'sector=%', 'THT_TOTAL'),
             ('HTX_NOT_ACTIVE_SHARE', 'HTX_NOT_ACTIVE', '',         'HTX_TOTAL'),
             ('QTDND_EQUITY_SHARE',   'QTDND_EQUITY',   '',         'QTDND_TOTAL_CAPITAL'),
             ('QTDND_DEPOSIT_SHARE',  'QTDND_DEPOSITS', '',         'QTDND_TOTAL_CAPITAL'))
     AS s (share_code, part_code, part_breakdown, whole_code)
JOIN core.ref_indicator AS c ON c.indicator_code = s.share_code
JOIN mart.plan_indicator AS part
  ON part.indicator_code = s.part_code AND part.breakdown LIKE s.part_breakdown
JOIN mart.plan_indicator AS whole
  ON whole.indicator_code = s.whole_code AND whole.breakdown = ''
 AND whole.period_start = part.period_start AND whole.period_end = part.period_end
WHERE whole.value > 0
  AND part.period_end >= (SELECT current_setting('htx.refresh_from')::date);  -- periods recomputed
