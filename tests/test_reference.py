"""VSIC classes and the indicator catalogue onto the province's reference data (locality
spellings onto the administrative maps: tests/test_admin_map.py)."""
import pytest

from htx.reference import indicator_catalogue, nfc, vsic_division_known


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


def test_the_catalogue_declares_every_indicator_with_its_unit_and_breakdowns():
    catalogue = indicator_catalogue()
    assert len(catalogue) == 43
    assert catalogue["HTX_TOTAL"].unit == "count" and catalogue["HTX_TOTAL"].has_total
    assert catalogue["HTX_TOTAL"].breakdown_keys == ("locality",)
    assert catalogue["HTX_BY_SECTOR"].has_total is False
    assert catalogue["THT_TOTAL"].breakdown_keys == ("sector", "locality")
    assert catalogue["QTDND_NPL_RATIO"].unit == "percent"


@pytest.mark.parametrize("code, breakdown, year, allowed", [
    ("HTX_TOTAL", "", 2024, True),
    ("HTX_BY_SECTOR", "", 2024, False),                       # no total of its own
    ("HTX_BY_SECTOR", "sector=nong_nghiep", 2024, True),
    ("HTX_BY_SECTOR", "sector=nong_lam_ngu", 2024, False),    # a THT group, not a plan sector
    ("THT_TOTAL", "sector=nong_lam_ngu", 2024, True),
    ("LHHTX_TOTAL", "sector=phi_nong_nghiep", 2024, True),
    ("HTX_NEW", "sector=nong_nghiep", 2024, False),           # HTX_NEW has no sector= breakdown
    ("HTX_TOTAL", "locality=193", 2024, True),                # a district, before the reform
    ("HTX_TOTAL", "locality=06652", 2024, False),             # the 2025 map is not yet in force
    ("HTX_TOTAL", "locality=06652", 2025, True),              # both maps are in force in 2025
    ("HTX_TOTAL", "locality=193", 2025, True),
    ("HTX_TOTAL", "locality=193", 2026, False),               # no districts after the reform
    ("HTX_TOTAL", "locality=06649", 2026, False),             # an old commune, not a new unit
    ("HTX_TOTAL", "locality=khong_xac_dinh", 2026, False),
    ("HTX_TOTAL", "locality=", 2024, False),
    ("HTX_TOTAL", "locality", 2024, False),
    ("HTX_CHARTER_CAPITAL", "locality=193", 2024, False),
])
def test_a_breakdown_is_allowed_only_where_the_catalogue_has_it(code, breakdown, year, allowed):
    assert indicator_catalogue()[code].breakdown_allowed(breakdown, year) is allowed
