"""The registry sample on both sides of the 2025 reform (htx.dev.sample.registrations calls this).

Until 30/06/2025 the registry writes a district-level unit in `locality` and an address ending
with the commune and the district; from 01/07/2025 it writes a unit of the new map. The sample:
  * names a commune of its district in the address of every earlier state (most with kind words,
    some abbreviated `X.`/`H.`, some without kind words, some in NFD, one in twenty with none);
  * registers cooperatives in January–June 2025 on the old map — among them a split commune
    (Hà Khẩu, Hải Lạng), names two communes share (Bắc Sơn, Thanh Sơn, Đầm Hà; with and without
    the kind word that decides), a commune named like a city (xã Hạ Long in Vân Đồn), an address
    without commas — and two dissolutions;
  * registers cooperatives and groups from July 2025 on the new map ("P. Hà Tu", "Đặc khu Vân
    Đồn", "X. Quảng La", units spanning two old districts, the other tone placement, NFD), and
    records suspensions of earlier cooperatives with their new unit.
None of it is dated inside 2024, so no 2024 figure moves; no record is newer than HORIZON_2025.
Every value is drawn from the builder's own generator (seeded), after the 2024 sample is complete.
"""
from __future__ import annotations

import unicodedata
from datetime import date, timedelta

from htx.admin_map import read_crosswalk, read_maps, read_units
from htx.dev.sample.registry_states import VSIC_BY_SECTOR, VSIC_BY_THT_GROUP, states_as_of

HORIZON_2025 = date(2025, 9, 25)
REFORM = date(2025, 7, 1)
KIND_WORDS = {"thanh_pho": "thành phố", "thi_xa": "thị xã", "huyen": "huyện", "phuong": "phường",
              "xa": "xã", "thi_tran": "thị trấn"}
NEW_KIND_WORDS = {"phuong": "phường", "xa": "xã", "dac_khu": "đặc khu"}
KIND_ABBREVIATIONS = {"thanh_pho": "TP.", "thi_xa": "TX.", "huyen": "H.", "phuong": "P.",
                      "xa": "X.", "thi_tran": "TT."}

# Registered in January–June 2025 (old map): (locality, address after "Thôn N, "), two each.
BEFORE_REFORM = [
    ("TP Hạ Long", "phường Hà Khẩu, thành phố Hạ Long, tỉnh Quảng Ninh"),   # split in two
    ("huyện Tiên Yên", "xã Hải Lạng, huyện Tiên Yên, tỉnh Quảng Ninh"),      # split in three
    ("TP Móng Cái", "xã Bắc Sơn, thành phố Móng Cái, tỉnh Quảng Ninh"),      # shared name, kind
    ("Móng Cái", "Bắc Sơn, Móng Cái, Quảng Ninh"),                           # shared, no kind
    ("TP Uông Bí", "P. Bắc Sơn, TP. Uông Bí, tỉnh Quảng Ninh"),
    ("huyện Ba Chẽ", "xã Thanh Sơn, huyện Ba Chẽ, tỉnh Quảng Ninh"),
    ("huyện Đầm Hà", "thị trấn Đầm Hà, huyện Đầm Hà, tỉnh Quảng Ninh"),
    ("Đầm Hà", "xã Đầm Hà, huyện Đầm Hà, tỉnh Quảng Ninh"),
    ("H. Vân Đồn", "xã Hạ Long huyện Vân Đồn tỉnh Quảng Ninh"),               # no commas
    ("thị xã Quảng Yên", "phường Nam Hòa, thị xã Quảng Yên, tỉnh Quảng Ninh"),  # Nam Hoà
    ("TX Đông Triều", "phường Mạo Khê, thành phố Đông Triều, tỉnh Quảng Ninh"),
    ("TP Cẩm Phả", "xã Hải Hoà, thành phố Cẩm Phả, tỉnh Quảng Ninh"),        # split, other tone
]
# Registered from July 2025 (new map): (locality, address), two cooperatives each.
AFTER_REFORM = [
    ("P. Hà Tu", "Số 12 đường Trần Phú, phường Hà Tu, tỉnh Quảng Ninh"),
    ("phường Hà Tu", "Tổ 4 khu 2, P. Hà Tu, tỉnh Quảng Ninh"),
    ("Đặc khu Vân Đồn", "Thôn Đài Mỏ, đặc khu Vân Đồn, tỉnh Quảng Ninh"),
    ("X. Quảng La", "Thôn 3, xã Quảng La, tỉnh Quảng Ninh"),
    ("xã Tiên Yên", "Phố Lý Thường Kiệt, xã Tiên Yên, tỉnh Quảng Ninh"),     # two old districts
    ("xã Hải Hoà", "Thôn 5, xã Hải Hòa, tỉnh Quảng Ninh"),                   # two old districts
    ("phường Hoành Bồ", "Tổ 2, phường Hoành Bồ, tỉnh Quảng Ninh"),
    ("Móng Cái 1", "Số 8 đường Hùng Vương, phường Móng Cái 1, tỉnh Quảng Ninh"),
    (unicodedata.normalize("NFD", "phường Bãi Cháy"), "Tổ 7, phường Bãi Cháy, tỉnh Quảng Ninh"),
    ("Đặc khu Cô Tô", "Thôn Nam Hà, đặc khu Cô Tô, tỉnh Quảng Ninh"),
    ("xã Kỳ Thượng", "Thôn Khe Tâm, xã Kỳ Thượng, tỉnh Quảng Ninh"),         # two old districts
    ("phường Đông Triều", "Khu Vĩnh Hòa, phường Đông Triều, tỉnh Quảng Ninh"),
    ("X. Đầm Hà", "Thôn Bắc Sơn, xã Đầm Hà, tỉnh Quảng Ninh"),
    ("phường Uông Bí", "Tổ 9, phường Uông Bí, tỉnh Quảng Ninh"),
    ("xã Ba Chẽ", "Thôn Đồng Doong, xã Ba Chẽ, tỉnh Quảng Ninh"),
]
GROUPS_AFTER_REFORM = [("xã Quảng Tân", "Thôn 1, xã Quảng Tân, tỉnh Quảng Ninh"),
                       ("phường Quảng Yên", "Khu 6, phường Quảng Yên, tỉnh Quảng Ninh"),
                       ("xã Bình Liêu", "Thôn Nà Phạ, xã Bình Liêu, tỉnh Quảng Ninh")]
SUSPENDED_AFTER_REFORM = 6   # earlier cooperatives that file a suspension, with their new unit


def across_the_reform(b, localities: dict[str, list[str]]) -> None:
    """Extend the builder's items: communes in the earlier addresses, then 2025's states."""
    old_units = read_units(read_maps()[0])
    communes = _name_communes(b.items, localities, old_units)
    for locality, tail in BEFORE_REFORM * 2:
        registered = b.day_between(date(2025, 1, 6), date(2025, 6, 25))
        _new(b, "HTX", locality, f"Thôn {b.rng.randint(1, 9)}, {tail}", registered)
    for state in _operating_cooperatives(b)[-2:]:
        since = b.day_between(date(2025, 2, 3), date(2025, 5, 30))
        b.change(state, "da_giai_the", since, since + timedelta(days=2))
    for entity_type, specs in (("HTX", AFTER_REFORM * 2), ("THT", GROUPS_AFTER_REFORM)):
        for locality, address in specs:
            registered = b.day_between(REFORM + timedelta(days=1), date(2025, 9, 20))
            _new(b, entity_type, locality, address, registered)
    _suspended_after(b, communes)


def _name_communes(items: list[dict], localities: dict[str, list[str]], units) -> dict:
    """Every earlier state's address ends with a commune of its district, written as sources do.
    One entity keeps one address across its states (the choice follows its code). Returns the
    commune of each entity whose address names it with its kind word."""
    district_of = {spelling: place for place, spellings in localities.items()
                   for spelling in spellings}
    districts = {u.name: u for u in units if u.level == "district"}
    communes: dict[str, list] = {}
    for unit in units:
        if unit.level == "commune":
            communes.setdefault(unit.district_code, []).append(unit)
    named = {}
    for item in items:
        place = district_of.get(item.get("locality"))
        code = item.get("entity_code")
        if place is None or not code:
            continue
        district = districts[place]
        options = communes[district.code]
        commune, variant = options[int(code[2:9]) % len(options)], int(code) % 20
        item["address"] = _address(item["address"], commune, district, variant)
        if variant <= 12:
            named[code] = commune
    return named


def _address(street: str, commune, district, variant: int) -> str:
    if variant == 18:   # the registry office wrote the village only
        return street
    if variant in (16, 17):
        return f"{street}, {commune.name}, {district.name}, Quảng Ninh"
    words = KIND_ABBREVIATIONS if 13 <= variant <= 15 else KIND_WORDS
    text = (f"{street}, {words[commune.kind]} {commune.name}, "
            f"{words[district.kind]} {district.name}, tỉnh Quảng Ninh")
    return unicodedata.normalize("NFD", text) if variant == 19 else text


def _suspended_after(b, communes: dict) -> None:
    """Suspensions recorded after the reform: the registry office writes the cooperative's new
    unit, the one its old commune went into whole, in locality and address."""
    into = {old: new for old, new, whole in read_crosswalk() if whole}
    new_units = {u.code: u for u in read_units(read_maps()[-1])}
    movers = [s for s in _operating_cooperatives(b)
              if s["entity_code"] in communes and communes[s["entity_code"]].code in into]
    for state in movers[:SUSPENDED_AFTER_REFORM]:
        unit = new_units[into[communes[state["entity_code"]].code]]
        written = f"{NEW_KIND_WORDS[unit.kind]} {unit.name}"
        since = b.day_between(date(2025, 7, 15), date(2025, 9, 15))
        b.change(state, "tam_ngung_kinh_doanh", since, since + timedelta(days=1),
                 locality=written,
                 address=f"{state['address'].split(',')[0]}, {written}, tỉnh Quảng Ninh")


def _operating_cooperatives(b) -> list[dict]:
    """Cooperatives active now, registered before 2020, in code order (a stable choice)."""
    return sorted((s for s in states_as_of(b.items, HORIZON_2025).values()
                   if s["entity_type"] == "HTX" and s["status"] == "dang_hoat_dong"
                   and s["registered_on"] < "2020-01-01"), key=lambda s: s["entity_code"])


def _new(b, entity_type: str, locality: str, address: str, registered: date) -> None:
    """A new entity registered on `registered` (recorded within three days)."""
    if entity_type == "THT":
        group = b.rng.choice(list(VSIC_BY_THT_GROUP))
        vsic, sector = b.rng.choice(VSIC_BY_THT_GROUP[group]), "nong_nghiep"
        capital, members = 0, b.rng.randint(3, 12)
    else:
        sector = b.rng.choice(list(VSIC_BY_SECTOR))
        vsic = b.rng.choice(VSIC_BY_SECTOR[sector])
        capital, members = b.rng.randint(10, 300) * 10**7, b.rng.randint(7, 40)
    state = b.entity(entity_type, vsic, sector, registered, capital, members)
    state.update(locality=locality, address=address,
                 updated_at=b.stamp(registered, b.rng.randint(0, 3)))
