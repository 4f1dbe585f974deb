-- core.tax_declaration_latest is the one place the latest-revision rule of tax declarations is
-- written; the marts now read it (issue 13) instead of a narrower copy of the rule of their own.
-- Same rule, same columns; its sort leaves out source_object, which never decides a tie: a tax
-- delivery is one file, landed as one object per batch, so rows of one batch that tie on
-- everything else differ by source_row. At 10⁷ declarations the sort spills to disk, and the
-- landed object's URL (≈ 100 bytes) would have made it 1.7 times larger.
CREATE OR REPLACE VIEW core.tax_declaration_latest AS
SELECT DISTINCT ON (tax_code, form_code, period_kind, period_start) *
FROM core.tax_declaration
ORDER BY tax_code, form_code, period_kind, period_start,
         revision DESC, filed_on DESC, batch_id DESC, source_row DESC;

SELECT audit.grant_core_to_analysts();
