"""Feed 2 in the warehouse: staging → merge → core and its views, on small hand-made files.

`deliver()` runs one delivered file the way the pipeline does — parse, the real expectation suite,
staging and quarantine by the pipeline's own chunk step, the merge SQL — without the file-drop
extractor, so the merge can be tested on its own (batches are numbered in delivery order).
"""
import uuid
from pathlib import Path

import pytest

from conftest import query
from htx import db, pipeline
from htx.feeds import tax_declarations as parser
from htx.feeds.config import FEEDS

CORPUS = Path(__file__).parent / "corpus" / "tax_declarations"
FEED = FEEDS["tax_declarations"]
HEADER = ";".join(parser.HEADERS)
MERGE = "merge/tax_declarations.sql"

A, B, C, U = "5701001057", "5701001064", "5701001071", "5701001089"


@pytest.fixture(scope="module")
def suite():
    from htx.validation import SuiteRunner

    return SuiteRunner("tax_declarations")


def csv_bytes(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode("utf-8")


def vat(code, period, revision, filed, revenue):
    return f"{code};HTX {code};01/GTGT;{period};{revision};{filed};{revenue};;0"


def cit(code, year, revision, filed, profit):
    return f"{code};HTX {code};03/TNDN;{year};{revision};{filed};9.000.000;{profit};0"


def deliver(dsn: str, source_file: str, raw: bytes, suite) -> int:
    """One delivery of `source_file` (its path under the landing root) as a new batch, merged."""
    with db.transaction(dsn) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO audit.load_batch (feed, batch_key, source_object)"
                    " VALUES (%s, %s, %s) RETURNING batch_id",
                    (FEED.name, uuid.uuid4().hex, source_file))
        (batch,) = cur.fetchone()
        landed = f"file:///landing/_landed/{FEED.name}/batch-{batch:08d}/{Path(source_file).name}"
        rows = list(parser.parse_object(raw, landed))
        counts = pipeline._stage_chunk(cur, FEED, parser, suite, batch, rows)
        cur.execute("UPDATE audit.load_batch SET status = 'staged', rows_in = %s, rows_loaded = %s,"
                    " rows_quarantined = %s WHERE batch_id = %s",
                    (counts.rows_in, counts.rows_loaded, counts.rows_quarantined, batch))
    merge(dsn, batch)
    with db.transaction(dsn) as conn, conn.cursor() as cur:
        cur.execute("UPDATE audit.load_batch SET status = 'merged' WHERE batch_id = %s", (batch,))
    return batch


def merge(dsn: str, batch: int) -> None:
    with db.transaction(dsn) as conn, conn.cursor() as cur:
        db.run_sql_file(cur, MERGE, {"batch_id": batch})


def core(dsn):
    return query(dsn, "SELECT * FROM core.tax_declaration ORDER BY batch_id, source_row")


def latest(dsn, code, form="01/GTGT"):
    return query(dsn, "SELECT period_raw, revision, filed_on::text, revenue_vnd, batch_id"
                      " FROM core.tax_declaration_latest WHERE tax_code = %s AND form_code = %s"
                      " ORDER BY period_start", (code, form))


def test_a_delivered_file_lands_in_core_with_its_lineage(warehouse, suite):
    batch = deliver(warehouse, "tax/to_khai_202410.csv", (CORPUS / "cp1258.csv").read_bytes(), suite)
    rows = query(warehouse, "SELECT tax_code, parent_code, is_branch, taxpayer_name, period_kind,"
                            " source_file, source_object LIKE %s, source_row"
                            " FROM core.tax_declaration_latest WHERE batch_id = %s"
                            " ORDER BY source_row", ("file:///landing/_landed/%", batch))
    assert len(rows) == query(warehouse, "SELECT count(*) FROM core.tax_declaration"
                                         " WHERE batch_id = %s", (batch,))[0][0]
    assert [r[:3] for r in rows] == [
        (A, A, False), (B, B, False), (f"{B}-001", B, True), (C, C, False)]
    assert rows[0][3] == "Hợp tác xã Nông nghiệp Tuyền Hiền"    # decoded, NFC
    assert {r[5] for r in rows} == {"tax/to_khai_202410.csv"} and all(r[6] for r in rows)
    assert [r[7] for r in rows] == [2, 3, 4, 5]


def test_merging_a_batch_twice_changes_nothing(warehouse, suite):
    batch = deliver(warehouse, "tax/to_khai_202409.csv",
                    csv_bytes(vat(A, "08/2024", 0, "15/09/2024", "1.000")), suite)
    before = core(warehouse)
    merge(warehouse, batch)
    assert core(warehouse) == before and len(before) == 1


def test_a_resent_month_replaces_its_predecessor_and_leaves_other_months_alone(warehouse, suite):
    first = deliver(warehouse, "tax/to_khai_202408.csv",
                    csv_bytes(vat(A, "07/2024", 0, "15/08/2024", "1.000.000"),
                              vat(B, "07/2024", 0, "16/08/2024", "2.000.000")), suite)
    other = deliver(warehouse, "tax/to_khai_202409.csv",
                    csv_bytes(vat(A, "08/2024", 0, "15/09/2024", "3.000.000")), suite)
    resent = deliver(warehouse, "tax/to_khai_202408.csv",
                     csv_bytes(vat(A, "07/2024", 0, "15/08/2024", "1.500.000")), suite)
    held = query(warehouse, "SELECT source_file, batch_id, tax_code, revenue_vnd"
                            " FROM core.tax_declaration ORDER BY source_file, tax_code")
    assert held == [("tax/to_khai_202408.csv", resent, A, 1_500_000),
                    ("tax/to_khai_202409.csv", other, A, 3_000_000)]
    # A late re-run of the first delivery must not bring back what the re-send replaced.
    merge(warehouse, first)
    assert query(warehouse, "SELECT count(*) FROM core.tax_declaration") == [(2,)]
    merge(warehouse, resent)
    assert query(warehouse, "SELECT count(*) FROM core.tax_declaration") == [(2,)]


def test_the_latest_version_is_the_highest_revision_then_later_filing_then_later_batch(
        warehouse, suite):
    first = deliver(warehouse, "tax/to_khai_202408.csv", csv_bytes(
        vat(A, "07/2024", 0, "10/08/2024", "100"),
        vat(A, "07/2024", 2, "12/08/2024", "300"),    # highest Lần nộp, though filed earlier …
        vat(f"{A}-001", "07/2024", 0, "10/08/2024", "5"),
        vat(B, "Q3/2024", 1, "25/10/2024", "20"),      # same Lần nộp, filed later, row earlier
        vat(B, "Q3/2024", 1, "05/10/2024", "10"),
        vat(C, "08/2024", 0, "15/09/2024", "1"),
        cit(A, "2023", 0, "29/03/2024", "7")), suite)
    second = deliver(warehouse, "tax/to_khai_202409.csv", csv_bytes(
        vat(A, "07/2024", 1, "20/09/2024", "200"),    # … than this later supplementary 1
        vat(C, "08/2024", 0, "15/09/2024", "2")), suite)   # a full tie: the later batch counts
    assert latest(warehouse, A) == [("07/2024", 2, "2024-08-12", 300, first)]
    assert latest(warehouse, f"{A}-001") == [("07/2024", 0, "2024-08-10", 5, first)]
    assert latest(warehouse, B) == [("Q3/2024", 1, "2024-10-25", 20, first)]
    assert latest(warehouse, C) == [("08/2024", 0, "2024-09-15", 2, second)]
    assert [r[:2] for r in latest(warehouse, A, "03/TNDN")] == [("2023", 0)]
    assert query(warehouse, "SELECT count(*) FROM core.tax_declaration") == [(9,)]  # history kept


def insert_registry_entity(dsn, code, entity_type="HTX"):
    query(dsn, """
        INSERT INTO core.registration_state (entity_code, updated_at, entity_type, name, main_vsic,
            locality_raw, locality_code, address, registered_on, status, status_since,
            charter_capital_vnd, members, record_hash, batch_id, source_object, source_row)
        VALUES (%s, '2024-01-05T10:00:00+07', %s, 'Hợp tác xã Thử', '0111', 'Hạ Long', 'ha_long',
                'x', '2020-01-01', 'dang_hoat_dong', '2020-01-01', 1000000000, 10, 'h', 0, 'test', 1)
        """, (code, entity_type))


def test_codes_unknown_to_the_registry_are_kept_and_reported_as_unmatched(warehouse, suite):
    insert_registry_entity(warehouse, A)
    deliver(warehouse, "tax/to_khai_202404.csv", csv_bytes(
        vat(A, "03/2024", 0, "15/04/2024", "1"), vat(f"{A}-001", "03/2024", 0, "15/04/2024", "2"),
        vat(U, "03/2024", 0, "15/04/2024", "3"), vat(f"{U}-002", "03/2024", 0, "15/04/2024", "4")),
        suite)
    assert query(warehouse, "SELECT count(*) FROM core.tax_declaration") == [(4,)]
    assert query(warehouse, "SELECT tax_code, parent_code FROM core.tax_declaration_unmatched"
                            " ORDER BY tax_code") == [(U, U), (f"{U}-002", U)]


def test_bad_rows_are_quarantined_with_reasons_and_every_row_is_accounted_for(warehouse, suite):
    batch = deliver(warehouse, "tax/to_khai_202409.csv", (CORPUS / "row_edges.csv").read_bytes(), suite)
    counts = query(warehouse, "SELECT rows_in, rows_loaded, rows_quarantined FROM audit.load_batch"
                              " WHERE batch_id = %s", (batch,))
    assert counts == [(22, 3, 19)]
    assert query(warehouse, "SELECT source_row FROM core.tax_declaration ORDER BY 1") == [
        (20,), (21,), (23,)]
    reasons = dict(query(warehouse, "SELECT source_row, reason FROM quarantine.tax_declarations"
                                    " WHERE batch_id = %s", (batch,)))
    assert reasons[3] == ("revenue_vnd: Doanh thu is not a VND integer in Vietnamese format "
                          "(1.234.567) ('12.34')")
    assert reasons[11].startswith("tax_code: Mã số thuế fails the MST check")
    assert "5701001058" in reasons[11]
    assert reasons[17].startswith("profit_before_tax_vnd: Lợi nhuận trước thuế")
    record = query(warehouse, "SELECT record ->> 'Ngày nộp', failures -> 0 ->> 'rule'"
                              " FROM quarantine.tax_declarations WHERE source_row = 4")
    assert record == [("31/02/2024", "is_date")]


# --- the latest versions, kept by the merge (migration 0070) -------------------------------

def latest_by_rule(dsn):
    """The latest version of every declaration, worked out from scratch by the rule: what the
    rows the merge flags must always be."""
    return query(dsn, "SELECT DISTINCT ON (tax_code, form_code, period_kind, period_start)"
                      " batch_id, source_row FROM core.tax_declaration"
                      " ORDER BY tax_code, form_code, period_kind, period_start, revision DESC,"
                      " filed_on DESC, batch_id DESC, source_object DESC, source_row DESC")


def flagged_latest(dsn):
    return query(dsn, "SELECT batch_id, source_row FROM core.tax_declaration_latest"
                      " ORDER BY tax_code, form_code, period_kind, period_start")


def test_the_flagged_latest_versions_follow_every_delivery_resend_and_deletion(warehouse, suite):
    august = "tax/to_khai_202408.csv"
    first = deliver(warehouse, august, csv_bytes(
        vat(A, "07/2024", 2, "12/08/2024", "300"), vat(A, "07/2024", 0, "10/08/2024", "100"),
        vat(B, "07/2024", 0, "10/08/2024", "10"), vat(C, "07/2024", 1, "10/08/2024", "1")), suite)
    assert flagged_latest(warehouse) == latest_by_rule(warehouse)
    september = deliver(warehouse, "tax/to_khai_202409.csv", csv_bytes(
        vat(A, "07/2024", 1, "20/09/2024", "200"),     # loses to the August file's Lần nộp 2
        vat(B, "07/2024", 0, "10/08/2024", "11"),      # a full tie: the later batch wins
        vat(C, "07/2024", 0, "20/09/2024", "2")), suite)
    assert flagged_latest(warehouse) == latest_by_rule(warehouse)
    assert query(warehouse, "SELECT tax_code, batch_id, revision FROM core.tax_declaration_latest"
                            " ORDER BY 1") == [(A, first, 2), (B, september, 0), (C, first, 1)]
    # August re-sent without A's Lần nộp 2 and without C: September's versions take over.
    resent = deliver(warehouse, august, csv_bytes(vat(A, "07/2024", 0, "10/08/2024", "100"),
                                                  vat(B, "07/2024", 0, "10/08/2024", "12")), suite)
    assert flagged_latest(warehouse) == latest_by_rule(warehouse)
    assert query(warehouse, "SELECT tax_code, batch_id, revision FROM core.tax_declaration_latest"
                            " ORDER BY 1") == [(A, september, 1), (B, resent, 0), (C, september, 0)]
    # Rows deleted outside the merge (as replay and revalidation do): the best left takes over.
    query(warehouse, "DELETE FROM core.tax_declaration WHERE batch_id = %s", (september,))
    assert flagged_latest(warehouse) == latest_by_rule(warehouse)
    assert query(warehouse, "SELECT tax_code, batch_id FROM core.tax_declaration_latest"
                            " ORDER BY 1") == [(A, resent), (B, resent)]


def test_each_delivery_is_one_partition_and_a_resend_drops_its_predecessor(warehouse, suite):
    first = deliver(warehouse, "tax/to_khai_202408.csv",
                    csv_bytes(vat(A, "07/2024", 0, "15/08/2024", "1")), suite)
    other = deliver(warehouse, "tax/to_khai_202409.csv",
                    csv_bytes(vat(A, "08/2024", 0, "15/09/2024", "1")), suite)
    resent = deliver(warehouse, "tax/to_khai_202408.csv",
                     csv_bytes(vat(A, "07/2024", 0, "15/08/2024", "2")), suite)
    partitions = query(warehouse, "SELECT c.relname FROM pg_inherits AS i"
                                  " JOIN pg_class AS c ON c.oid = i.inhrelid"
                                  " WHERE i.inhparent = 'core.tax_declaration'::regclass ORDER BY 1")
    assert partitions == [(f"tax_declaration_{b:08d}",) for b in sorted((other, resent))]
    assert first not in {b for (b,) in query(warehouse, "SELECT batch_id FROM core.tax_declaration")}
