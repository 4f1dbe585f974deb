"""Registry states placed on both administrative maps, by the catalogue's rules
(../shared/indicators.md, "Locality of an entity … across the 2025 reform"): hand-built states on
both sides of 01/07/2025 against the real reference data (include/reference/admin_units/)."""
import unicodedata
from datetime import datetime, timedelta, timezone

import pytest

from htx.admin_map import admin_maps, fold, place, split_kind

VN = timezone(timedelta(hours=7))
BEFORE = datetime(2024, 5, 2, 9, 30, tzinfo=VN)
AFTER = datetime(2025, 8, 4, 14, 0, tzinfo=VN)


def codes(locality, address=None, recorded=BEFORE):
    placed = place(locality, address, recorded)
    return placed.locality_code, placed.old_district_code, placed.new_unit_code


# --- the reference data --------------------------------------------------------------------

def test_both_maps_and_the_crosswalk_are_complete():
    maps = admin_maps()
    units = maps.units
    assert sum(u.map_version == "2024" and u.level == "district" for u in units) == 13
    assert sum(u.map_version == "2024" and u.level == "commune" for u in units) == 171
    assert sum(u.map_version == "2025" for u in units) == 54
    assert sum(len(into) for into in maps.into.values()) == 184
    assert sum(len(into) > 1 for into in maps.into.values()) == 12       # split communes
    assert {m.version: (m.valid_from, m.valid_to) for m in maps.maps} == {
        "2024": (None, datetime(2025, 6, 30).date()), "2025": (datetime(2025, 7, 1).date(), None)}


def test_the_map_follows_the_record_date_in_vietnam_time():
    # 30/06/2025 23:30 in Hà Nội is 16:30 UTC: still the old map.
    last_old = datetime(2025, 6, 30, 16, 30, tzinfo=timezone.utc)
    assert codes("Hạ Long", recorded=last_old)[0] == "193"
    assert codes("Hạ Long", recorded=last_old + timedelta(hours=1))[0] == "06688"  # phường Hạ Long


# --- name matching -------------------------------------------------------------------------

@pytest.mark.parametrize("written", [
    "TP Hạ Long", "thành phố Hạ Long", "Hạ Long", "TP. Hạ Long", "Tp.Hạ Long", "  hạ   long ",
    "Thành Phố HẠ LONG", "huyện Hoành Bồ", unicodedata.normalize("NFD", "thành phố Hạ Long"),
])
def test_every_spelling_of_ha_long_names_the_district(written):
    assert codes(written) == ("193", "193", None)


@pytest.mark.parametrize("written, district", [
    ("thị xã Đông Triều", "205"),   # a city since 01/11/2024; the old kind word still places it
    ("TX Đông Triều", "205"), ("TP Đông Triều", "205"), ("TX Quảng Yên", "206"),
    ("H. Vân Đồn", "203"), ("huyện Ba Chẽ", "202"), ("Móng Cái", "194"), ("TP Cẩm Phả", "195"),
    ("Cô Tô", "207"), ("huyện Hải Hà", "201"), ("Đầm Hà", "200"), ("Uông Bí", "196"),
    ("Tiên Yên", "199"), ("Bình Liêu", "198"),
])
def test_prefixed_and_bare_names_place_the_district(written, district):
    assert codes(written)[:2] == (district, district)


@pytest.mark.parametrize("written", [
    "tỉnh Quảng Ninh", "Hà Nội", "", None, "TP", "Ha Long", "Halong",   # no diacritics: no name
    "xã Hạ Long",            # a commune's kind word never names a district
    "phường Hà Tu",          # a new unit's name, recorded before the reform
])
def test_places_outside_the_old_map_are_none(written):
    assert codes(written) == (None, None, None)


def test_tone_placement_and_case_fold_alike():
    assert fold("Hải Hoà") == fold("HẢI HÒA") == fold(unicodedata.normalize("NFD", "hải hòa"))
    assert fold("Thuỷ") == fold("Thủy") and fold("khoẻ") == fold("khỏe")
    assert fold("mùa") != fold("muà")   # u-a is not one of the three pairs
    assert fold("Hải Hà") != fold("Hà Hải")


@pytest.mark.parametrize("written, kind, name", [
    ("TP.Hạ Long", "thanh_pho", "hạ long"), ("tx quảng yên", "thi_xa", "quảng yên"),
    ("TT. Cái Rồng", "thi_tran", "cái rồng"), ("Đặc khu Vân Đồn", "dac_khu", "vân đồn"),
    ("X.Quảng La", "xa", "quảng la"), ("Hà Tu", None, "hà tu"), ("Hải Hà", None, "hải hà"),
])
def test_kind_words_and_abbreviations_are_split_off(written, kind, name):
    assert split_kind(fold(written)) == (kind, name)


# --- before the reform: district named, new unit through the address ----------------------

@pytest.mark.parametrize("address, new_unit", [
    ("Tổ 3, phường Hà Khánh, thành phố Hạ Long, tỉnh Quảng Ninh", "06658"),   # whole → Cao Xanh
    ("Tổ 3, P. Hà Khánh, TP. Hạ Long", "06658"),                              # abbreviated
    ("Tổ 3, Hà Khánh, Hạ Long, Quảng Ninh", "06658"),                         # no kind words
    ("Tổ 3 phường Hà Khánh thành phố Hạ Long", "06658"),                      # no commas
    (unicodedata.normalize("NFD", "Tổ 3, phường Hà Khánh, TP Hạ Long"), "06658"),
    ("Tổ 3, phường Hồng Hải, TP Hạ Long", "06688"),   # old Hồng Hải → new phường Hạ Long
    ("Tổ 3, phường Hà Khẩu, TP Hạ Long", None),       # split: Việt Hưng and Tuần Châu
    ("Tổ 3, TP Hạ Long, tỉnh Quảng Ninh", None),      # no commune
    ("Tổ 3", None), ("", None), (None, None),
    ("Tổ 3, phường Mạo Khê, TX Đông Triều", None),    # a commune of another district
])
def test_before_the_reform_the_new_unit_comes_from_the_address_commune(address, new_unit):
    assert codes("TP Hạ Long", address) == ("193", "193", new_unit)


def test_a_commune_split_three_ways_places_no_new_unit():
    placed = place("huyện Tiên Yên", "Thôn 2, xã Hải Lạng, huyện Tiên Yên", BEFORE)
    assert (placed.old_district_code, placed.new_unit_code) == ("199", None)
    assert placed.rule.endswith("split between 06799, 06886, 06970")


@pytest.mark.parametrize("locality, address, new_unit", [
    # Bắc Sơn: xã in Móng Cái (→ Hải Sơn), phường in Uông Bí (→ Vàng Danh).
    ("TP Móng Cái", "Thôn 1, xã Bắc Sơn, TP Móng Cái", "06724"),
    ("TP Móng Cái", "Thôn 1, X. Bắc Sơn, TP Móng Cái", "06724"),
    ("TP Móng Cái", "Thôn 1, Bắc Sơn, Móng Cái", None),             # no kind word: nothing
    ("TP Móng Cái", "Thôn 1, phường Bắc Sơn, TP Móng Cái", None),   # the phường is in Uông Bí
    ("TP Uông Bí", "Tổ 1, phường Bắc Sơn, TP Uông Bí", "06820"),
    # Thanh Sơn: xã in Ba Chẽ (→ Ba Chẽ), phường in Uông Bí (→ Uông Bí).
    ("huyện Ba Chẽ", "Thôn 1, xã Thanh Sơn, huyện Ba Chẽ", "06970"),
    ("TP Uông Bí", "Tổ 1, phường Thanh Sơn, TP Uông Bí", "06811"),
    ("TP Uông Bí", "Tổ 1, Thanh Sơn, Uông Bí", None),
    # Hải Hòa / Hải Hoà: phường in Móng Cái (→ Móng Cái 1), xã in Cẩm Phả (split).
    ("TP Móng Cái", "Khu 2, phường Hải Hòa, TP Móng Cái", "06712"),
    ("TP Móng Cái", "Khu 2, P. Hải Hoà, TP Móng Cái", "06712"),
    ("TP Móng Cái", "Khu 2, Hải Hòa, TP Móng Cái", None),
    ("TP Cẩm Phả", "Thôn 2, xã Hải Hòa, TP Cẩm Phả", None),          # split in two
    # Đầm Hà: xã and thị trấn in the same district (both → xã Đầm Hà).
    ("huyện Đầm Hà", "Khu 1, thị trấn Đầm Hà, huyện Đầm Hà", "06895"),
    ("huyện Đầm Hà", "Thôn 1, xã Đầm Hà, huyện Đầm Hà", "06895"),
    ("huyện Đầm Hà", "Thôn 1, Đầm Hà, Quảng Ninh", None),
])
def test_a_shared_name_is_decided_by_its_kind_word_alone(locality, address, new_unit):
    assert codes(locality, address)[2] == new_unit


def test_which_dam_ha_the_kind_word_picks_is_recorded():
    town = place("huyện Đầm Hà", "Khu 1, TT. Đầm Hà, H. Đầm Hà", BEFORE)
    commune = place("huyện Đầm Hà", "Thôn 1, X. Đầm Hà, H. Đầm Hà", BEFORE)
    assert "commune 06895" in town.rule and "commune 06916" in commune.rule


def test_a_commune_named_like_a_city_is_found_in_its_own_district():
    # xã Hạ Long lies in Vân Đồn; the bare name there is no district of that address.
    assert codes("huyện Vân Đồn", "Thôn 2, Hạ Long, Vân Đồn") == ("203", "203", "06994")
    assert codes("huyện Vân Đồn", "Thôn 2 xã Hạ Long huyện Vân Đồn") == ("203", "203", "06994")


def test_a_bare_district_name_in_the_address_is_the_district_not_its_town():
    # thị trấn Tiên Yên bears the district's name: written bare, it is the district.
    assert codes("huyện Tiên Yên", "Khu 1, Tiên Yên, Quảng Ninh")[2] is None
    assert codes("huyện Tiên Yên", "Khu 1, thị trấn Tiên Yên, Tiên Yên")[2] == "06862"
    assert codes("huyện Tiên Yên", "Thôn 2, xã Đồng Rui, Tiên Yên")[2] == "06886"


def test_an_address_naming_two_communes_of_the_district_places_no_new_unit():
    placed = place("TP Hạ Long", "Tổ 1, phường Hà Khánh, phường Cao Xanh, TP Hạ Long", BEFORE)
    assert placed.new_unit_code is None and "06649, 06658" in placed.rule


def test_without_a_district_the_address_places_nothing():
    assert codes("tỉnh Quảng Ninh", "Tổ 3, phường Hà Khánh, TP Hạ Long") == (None, None, None)


# --- after the reform: the new unit named, the old district through the crosswalk -----------

@pytest.mark.parametrize("written, new_unit, district", [
    ("P. Hà Tu", "06652", "193"), ("phường Hà Tu", "06652", "193"), ("Hà Tu", "06652", "193"),
    ("Đặc khu Vân Đồn", "06994", "203"), ("X. Quảng La", "07054", "193"),
    ("phường Hoành Bồ", "07030", "193"), ("Móng Cái 1", "06712", "194"),
    ("xã Hải Hoà", "06799", None),      # Cẩm Phả + Tiên Yên: no single old district
    ("xã Tiên Yên", "06862", None),     # Tiên Yên + Bình Liêu
    ("xã Kỳ Thượng", "06979", None),    # Hạ Long + Ba Chẽ
    ("xã Ba Chẽ", "06970", None),       # Ba Chẽ + Tiên Yên
    ("phường Hạ Long", "06688", "193"), ("Hạ Long", "06688", "193"),
    (unicodedata.normalize("NFD", "phường Bãi Cháy"), "06673", "193"),
    ("xã Đầm Hà", "06895", "200"), ("Đặc khu Cô Tô", "07192", "207"),
])
def test_after_the_reform_the_named_unit_and_its_single_old_district(written, new_unit, district):
    assert codes(written, "Số 1 đường Trần Phú", AFTER) == (new_unit, district, new_unit)


@pytest.mark.parametrize("written", [
    "huyện Tiên Yên",        # a district named after the reform (xã Tiên Yên is another unit)
    "TP Hạ Long", "thị xã Quảng Yên", "huyện Hải Hà",
    "phường Hà Khánh",       # an old commune that is no unit any more
    "tỉnh Quảng Ninh", "Hà Nội", "", None,
])
def test_after_the_reform_districts_and_old_communes_place_nothing(written):
    placed = place(written, "Tổ 1, phường Hà Khánh, TP Hạ Long", AFTER)
    assert (placed.locality_code, placed.old_district_code, placed.new_unit_code) == (
        None, None, None)
    assert "no commune-level unit of the 2025 map" in placed.rule


def test_after_the_reform_the_address_is_not_read():
    # The locality decides; an old address never overrides the named new unit.
    assert codes("phường Hà Tu", "Tổ 3, phường Hà Khánh, TP Hạ Long", AFTER) == (
        "06652", "193", "06652")


def test_without_a_record_time_there_is_no_map():
    assert place("TP Hạ Long", None, None).rule == "no record time: no map"


@pytest.mark.parametrize("year, some, none", [
    (2024, {"193", "207"}, {"06652"}), (2025, {"193", "06652", "07192"}, {"06649"}),
    (2026, {"06652"}, {"193"}),
])
def test_the_units_a_plan_year_may_name(year, some, none):
    in_force = admin_maps().unit_codes_in_year(year)
    assert some <= in_force and not none & in_force
