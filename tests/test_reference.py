"""Locality spellings and VSIC classes onto the province's reference data."""
import pytest

from htx.reference import locality_code, nfc, vsic_division_known


@pytest.mark.parametrize("written", [
    "TP Hạ Long", "thành phố Hạ Long", "Hạ Long", "TP. Hạ Long", "Tp.Hạ Long", "  hạ   long ",
    "Thành Phố HẠ LONG", "Ha Long", "Halong", "huyện Hoành Bồ",
])
def test_every_spelling_of_ha_long_is_one_place(written):
    assert locality_code(written) == "ha_long"


@pytest.mark.parametrize("written, code", [
    ("thị xã Đông Triều", "dong_trieu"), ("TX Quảng Yên", "quang_yen"), ("H. Vân Đồn", "van_don"),
    ("huyện Ba Chẽ", "ba_che"), ("Móng Cái", "mong_cai"), ("TP Cẩm Phả", "cam_pha"),
    ("Cô Tô", "co_to"), ("huyện Hải Hà", "hai_ha"), ("Đầm Hà", "dam_ha"),
])
def test_prefixed_and_bare_names_map_to_their_locality(written, code):
    assert locality_code(written) == code


def test_decomposed_unicode_matches_like_composed():
    import unicodedata

    assert locality_code(unicodedata.normalize("NFD", "huyện Bình Liêu")) == "binh_lieu"


@pytest.mark.parametrize("written", ["tỉnh Quảng Ninh", "Hà Nội", "", None, "TP"])
def test_places_outside_the_13_localities_are_unknown(written):
    assert locality_code(written) is None


def test_nfc_composes_decomposed_text():
    assert nfc("Hợp tác xã".encode().decode()) == "Hợp tác xã"
    import unicodedata

    assert nfc(unicodedata.normalize("NFD", "Hợp tác xã")) == unicodedata.normalize("NFC", "Hợp tác xã")


@pytest.mark.parametrize("vsic, known", [
    ("0111", True), ("0322", True), ("4933", True), ("9900", True), ("0411", False),
    ("4000", False), ("", False), (None, False), ("ab12", False),
])
def test_vsic_division_known(vsic, known):
    assert vsic_division_known(vsic) is known
