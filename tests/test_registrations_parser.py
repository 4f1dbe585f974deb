"""Feed 1's contract parser on small hand-made pages."""
import json
import unicodedata
from datetime import date, datetime, timedelta, timezone

import pytest

from htx.feeds.common import RejectedObject
from htx.feeds.registrations import COLUMNS, parse_item, parse_object

GOOD = {
    "entity_code": "5700100104", "entity_type": "HTX", "name": "Hợp tác xã Nông nghiệp Hoa Phong",
    "main_vsic": "0111", "locality": "TX Đông Triều", "address": "Thôn 3",
    "registered_on": "2019-04-02", "status": "dang_hoat_dong", "status_since": "2019-04-02",
    "charter_capital_vnd": 1_500_000_000, "members": 12,
    "legal_representative": {"full_name": "Nguyễn Văn An", "id_number": "022090001234"},
    "updated_at": "2024-05-01T09:30:00+07:00",
}


def parse(**changes):
    return parse_item({**GOOD, **changes}, "page-00001.json", 1)


def test_a_valid_item_becomes_typed_columns():
    row = parse()
    assert row.failures == []
    v = row.values
    assert v["registered_on"] == date(2019, 4, 2)
    assert v["updated_at"] == datetime(2024, 5, 1, 9, 30, tzinfo=timezone(timedelta(hours=7)))
    # "TX": Đông Triều was a town until it became a city on 01/11/2024; one place either way.
    assert (v["locality_code"], v["old_district_code"]) == ("205", "205")
    assert v["new_unit_code"] is None and "no commune" in v["locality_rule"]  # "Thôn 3" only
    assert v["legal_rep_id_number"] == "022090001234"
    assert v["entity_code_check_digit_ok"] is True
    assert set(COLUMNS) <= set(v)


def test_a_state_is_placed_on_both_maps_by_its_record_date():
    before = parse(locality="huyện Ba Chẽ", address="Thôn 8, xã Đồn Đạc, huyện Ba Chẽ, tỉnh Quảng Ninh")
    assert [before.values[k] for k in ("locality_code", "old_district_code", "new_unit_code")] == [
        "202", "202", "06970"]
    after = parse(locality="P. Hà Tu", address="Số 12 đường Trần Phú, phường Hà Tu",
                  updated_at="2025-07-01T00:00:00+07:00")
    assert [after.values[k] for k in ("locality_code", "old_district_code", "new_unit_code")] == [
        "06652", "193", "06652"]
    # The same text recorded a minute before the reform names a district, which it is not.
    late = parse(locality="P. Hà Tu", updated_at="2025-06-30T23:59:00+07:00")
    assert late.values["locality_code"] is None and late.failures == []   # the suite warns
    assert late.values["record_hash"] != after.values["record_hash"]


def test_nfd_names_are_stored_nfc():
    row = parse(name=unicodedata.normalize("NFD", GOOD["name"]))
    assert row.values["name"] == unicodedata.normalize("NFC", GOOD["name"])
    assert row.values["record_hash"] == parse().values["record_hash"]


def test_a_bad_check_digit_is_flagged_for_the_suite():
    assert parse(entity_code="5700100105").values["entity_code_check_digit_ok"] is False


def test_a_code_of_the_wrong_shape_is_not_checked_twice():
    assert parse(entity_code="57001").values["entity_code_check_digit_ok"] is None


@pytest.mark.parametrize("field, value", [
    ("registered_on", "2024-02-30"), ("registered_on", "02/04/2019"), ("status_since", 20190402),
    ("updated_at", "2024-05-01T09:30:00"), ("updated_at", "yesterday"), ("members", "12"),
    ("members", 12.5), ("charter_capital_vnd", True), ("name", 42), ("name", "bad\x00name"),
])
def test_unparseable_values_fail_with_field_and_value(field, value):
    row = parse(**{field: value})
    assert [(f.field, f.value) for f in row.failures] == [(field, value)]


@pytest.mark.parametrize("personal", [{"full_name": "Nguyễn Văn An", "id_number": 22090001234},
                                      {"full_name": "Nguyễn\x00Văn An", "id_number": "022090001234"}])
def test_a_personal_value_that_fails_is_never_quoted(personal):
    """The reason reaches logs, alerts and Data Docs; the quarantined record keeps the value."""
    row = parse(legal_representative=personal)
    (failure,) = row.failures
    assert failure.value == "<redacted>" and failure.field in personal
    assert "22090001234" not in failure.describe() and "Văn" not in failure.describe()
    assert row.record["legal_representative"] == personal


def test_missing_optional_fields_are_null_not_failures():
    item = dict(GOOD)
    del item["legal_representative"], item["address"]
    row = parse_item(item, "p", 1)
    assert row.failures == [] and row.values["legal_rep_name"] is None


def test_a_non_object_item_fails_as_a_whole():
    row = parse_item(["not", "an", "object"], "p", 7)
    assert row.source_row == 7 and row.failures[0].field == "item"


def test_a_page_yields_its_items_in_order_with_positions():
    page = json.dumps({"items": [GOOD, {**GOOD, "members": 13}], "next_page_token": None})
    rows = list(parse_object(page.encode(), "page-00002.json"))
    assert [(r.source_object, r.source_row, r.values["members"]) for r in rows] == [
        ("page-00002.json", 1, 12), ("page-00002.json", 2, 13)]


@pytest.mark.parametrize("body", [b"not json", b'{"data": []}', b"[]", "{}".encode("utf-16")])
def test_a_page_that_is_not_the_contract_is_rejected_whole(body):
    with pytest.raises(RejectedObject, match="page-00009.json"):
        list(parse_object(body, "page-00009.json"))
