"""Registry states on both sides of the 2025 reform through feed 1's pipeline (stand-in API,
parser, Great Expectations, merge) into core, placed on both maps; the suite warning on a
locality neither map in force knows; and a corrected map placing stored states again at the next
`htx migrate`, without a replay."""
import pytest

from conftest import query
from htx import admin_map, pipeline
from htx.migrate import migrate

CODES = ["5700100104", "5700100263", "5700101274", "5700101443", "5700101683", "5700101852"]


def state(code, locality, address, recorded, **fields):
    return {"entity_code": code, "entity_type": "HTX", "name": "Hợp tác xã Thử", "main_vsic": "0111",
            "locality": locality, "address": address, "registered_on": "2020-01-01",
            "status": "dang_hoat_dong", "status_since": "2020-01-01", "charter_capital_vnd": 10**9,
            "members": 9, "updated_at": recorded, **fields}


ITEMS = [
    state(CODES[0], "TP Hạ Long", "Tổ 3, phường Hà Khẩu, TP Hạ Long, tỉnh Quảng Ninh",
          "2024-03-01T09:00:00+07:00"),                                          # split commune
    state(CODES[1], "TP Móng Cái", "Thôn 1, xã Bắc Sơn, thành phố Móng Cái",
          "2025-06-30T23:59:00+07:00"),                                          # last old minute
    state(CODES[2], "P. Hà Tu", "Số 12 đường Trần Phú, phường Hà Tu, tỉnh Quảng Ninh",
          "2025-07-01T00:00:00+07:00"),                                          # first new one
    state(CODES[3], "huyện Tiên Yên", "Phố Lý Thường Kiệt, huyện Tiên Yên",
          "2025-08-04T10:00:00+07:00"),                                          # a district, late
    state(CODES[4], "Hà Nội", "Số 1 Tràng Tiền", "2024-03-01T09:00:00+07:00"),  # neither map
    state(CODES[5], "xã Tiên Yên", "Thôn 2, xã Tiên Yên", "2025-08-04T10:00:00+07:00"),
]


@pytest.fixture
def loaded(warehouse, landing, registry_api):
    registry_api(ITEMS)
    run = pipeline.RunInfo("test_registry_localities", "run", "test")
    batches = pipeline.extract_to_landing("registrations", run)
    pipeline.stage_batches("registrations", batches)
    pipeline.merge_batches("registrations", batches)
    pipeline.publish_batches("registrations", batches)
    return warehouse


def placed(dsn):
    return query(dsn, "SELECT entity_code, locality_code, old_district_code, new_unit_code"
                      " FROM core.registration_state ORDER BY entity_code")


def test_states_are_placed_on_both_maps_and_unknown_localities_warned(loaded):
    assert placed(loaded) == [
        (CODES[0], "193", "193", None),          # Hà Khẩu was split: no new unit
        (CODES[1], "194", "194", "06724"),       # xã Bắc Sơn went whole into Hải Sơn
        (CODES[2], "06652", "193", "06652"),
        (CODES[3], None, None, None),
        (CODES[4], None, None, None),
        (CODES[5], "06862", None, "06862"),      # two old districts: no old one
    ]
    assert query(loaded, "SELECT rows_loaded, rows_quarantined FROM audit.load_batch") == [(6, 0)]
    (warned,) = query(loaded, "SELECT unexpected_count, unexpected_sample, success"
                              " FROM audit.validation_result WHERE severity = 'warning'")
    assert (warned[0], sorted(warned[1]), warned[2]) == (2, ["Hà Nội", "huyện Tiên Yên"], False)
    rule = query(loaded, "SELECT locality_rule FROM core.registration_state"
                         " WHERE entity_code = %s", (CODES[0],))[0][0]
    assert rule == "district named; address names commune 06655, split between 06661, 06706"


def test_analysts_read_the_placement_in_the_public_view(loaded):
    assert query(loaded, "SELECT old_district_code, new_unit_code, locality_rule"
                         " FROM core.registry_current_public WHERE entity_code = %s",
                 (CODES[2],)) == [("193", "06652", "new unit named; its old communes lay in "
                                                   "district 193")]


def test_a_corrected_map_places_stored_states_again_at_migrate(loaded, monkeypatch):
    # Suppose the crosswalk is corrected: Hà Khẩu went whole into Việt Hưng.
    corrected = [row for row in admin_map.read_crosswalk() if row[0] != "06655"]
    monkeypatch.setattr(admin_map, "read_crosswalk",
                        lambda: corrected + [("06655", "06661", True)])
    admin_map.admin_maps.cache_clear()
    try:
        assert migrate(loaded) == []      # no migration: the reference data only
        assert placed(loaded)[0] == (CODES[0], "193", "193", "06661")
        assert query(loaded, "SELECT whole_or_part FROM core.ref_admin_crosswalk"
                             " WHERE old_commune_code = '06655'") == [("whole",)]
    finally:
        monkeypatch.undo()
        admin_map.admin_maps.cache_clear()
    migrate(loaded)
    assert placed(loaded)[0] == (CODES[0], "193", "193", None)
