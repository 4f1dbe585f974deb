"""Deterministic sample of the registration API's items for Quảng Ninh.

As of 2024-09-30 it reproduces the 2025 plan document's figures (seed-figures.json): 895
operating cooperatives (669 / 40 / 12 / 20 / 41 / 98 / 15 by sector), 148 registered and 1
dissolved in January–September 2024, 3,030,600 million of charter capital, 58,500 members;
3 unions (2 + 1, 66,100 million, 13 member cooperatives); 215 cooperative groups (110 / 64 / 41,
1,505 members). Around them sits what a real registry holds and the figures must ignore or
survive: entities dissolved earlier or registered later, dissolutions after the period, suspended
and revoked ones, NFD names, locality spellings, late and out-of-order states, a repeated item,
and invalid records that must land in quarantine. Then 2025 on both sides of the administrative
reform of 01/07/2025 (htx.dev.sample.reform), none of it dated inside 2024.
"""
from __future__ import annotations

import random
import unicodedata
from datetime import date, datetime, time, timedelta, timezone

from htx.dev.sample.draws import new_tax_code, uneven_split
from htx.dev.sample.reform import across_the_reform
from htx.dev.sample.registry_states import VSIC_BY_SECTOR, VSIC_BY_THT_GROUP

VN = timezone(timedelta(hours=7))
PERIOD_START, PERIOD_END = date(2024, 1, 1), date(2024, 9, 30)
# A period after the reform, the same months a year later: the demo prints it too.
AFTER_REFORM_START, AFTER_REFORM_END = date(2025, 1, 1), date(2025, 9, 30)

HTX_BY_SECTOR = {"nong_nghiep": 669, "cong_nghiep": 40, "ve_sinh_moi_truong": 12, "xay_dung": 20,
                 "van_tai": 41, "thuong_mai_dich_vu": 98, "khac": 15}
HTX_NEW = 148
HTX_CAPITAL_VND = 3_030_600 * 10**6
HTX_MEMBERS = 58_500
THT_BY_GROUP = {"nong_lam_ngu": 110, "cong_nghiep_tthc": 64, "khac": 41}
THT_MEMBERS = 1_505
LHHTX = [  # (VSIC, charter capital in million VND, member cooperatives)
    ("0161", 30_000, 5), ("0146", 21_100, 4), ("4620", 15_000, 4)]

# Each locality with the spellings sources use for it.
LOCALITIES = {
    "Hạ Long": ["TP Hạ Long", "thành phố Hạ Long", "Hạ Long", "TP. Hạ Long", "Tp.Hạ Long",
                "huyện Hoành Bồ"],
    "Móng Cái": ["TP Móng Cái", "thành phố Móng Cái", "Móng Cái"],
    "Cẩm Phả": ["TP Cẩm Phả", "Cẩm Phả", "thành phố Cẩm Phả"],
    "Uông Bí": ["TP Uông Bí", "Uông Bí"],
    "Đông Triều": ["TX Đông Triều", "thị xã Đông Triều", "Đông Triều", "Thị xã Đông Triều"],
    "Quảng Yên": ["TX Quảng Yên", "thị xã Quảng Yên", "Quảng Yên"],
    "Vân Đồn": ["huyện Vân Đồn", "Vân Đồn", "H. Vân Đồn"],
    "Cô Tô": ["huyện Cô Tô", "Cô Tô"],
    "Tiên Yên": ["huyện Tiên Yên", "Tiên Yên", "H. Tiên Yên"],
    "Bình Liêu": ["huyện Bình Liêu", "Bình Liêu"],
    "Đầm Hà": ["huyện Đầm Hà", "Đầm Hà"],
    "Hải Hà": ["huyện Hải Hà", "Hải Hà"],
    "Ba Chẽ": ["huyện Ba Chẽ", "Ba Chẽ"],
}
ACTIVITIES = {"nong_nghiep": ["nông nghiệp", "dịch vụ nông nghiệp", "nuôi trồng thủy sản",
                              "chăn nuôi", "trồng rừng", "rau an toàn"],
              "cong_nghiep": ["chế biến thủy sản", "vật liệu xây dựng", "gốm sứ", "mộc"],
              "ve_sinh_moi_truong": ["môi trường", "cấp nước sạch"],
              "xay_dung": ["xây dựng", "công trình"], "van_tai": ["vận tải", "vận tải thủy"],
              "thuong_mai_dich_vu": ["thương mại dịch vụ", "du lịch cộng đồng", "dịch vụ tổng hợp"],
              "khac": ["giáo dục", "y tế cộng đồng", "dịch vụ xã hội"]}
PLACE_WORDS = ["Hồng Phong", "Tuyền Hiền", "Hoa Phong", "Quảng Tân", "Đồn Đạc", "Nam Sơn",
               "Húc Động", "Khải Hương", "Lê Minh", "Ngọc Linh", "Thành Lợi", "Hương Việt",
               "Đại Dực", "Quảng Lâm", "Yên Than", "Hà Lâu", "Đồng Tâm", "Bình Dân", "Vạn Ninh"]
SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Ngô"]
GIVEN = ["Văn An", "Thị Bình", "Văn Cường", "Thị Dung", "Đức Hải", "Thị Hoa", "Minh Khôi",
         "Thị Lan", "Quang Minh", "Thị Nga", "Văn Phúc", "Thị Thu", "Xuân Trường"]


class _Builder:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.codes: set[str] = set()
        self.items: list[dict] = []

    # -- values -----------------------------------------------------------------------------
    def code(self) -> str:
        return new_tax_code(self.rng, self.codes)

    def day_between(self, first: date, last: date) -> date:
        return first + timedelta(days=self.rng.randint(0, (last - first).days))

    def stamp(self, day: date, offset_days: int = 0) -> str:
        moment = datetime.combine(day + timedelta(days=offset_days),
                                  time(8 + self.rng.randint(0, 8), self.rng.randint(0, 59),
                                       self.rng.randint(0, 59)), VN)
        return moment.isoformat()

    def name(self, prefix: str, sector: str) -> str:
        text = f"{prefix} {self.rng.choice(ACTIVITIES[sector])} {self.rng.choice(PLACE_WORDS)}"
        # About one name in six arrives decomposed (NFD), as some source systems send it.
        return unicodedata.normalize("NFD", text) if self.rng.random() < 0.17 else text

    def locality(self) -> str:
        place = self.rng.choice(list(LOCALITIES))
        return self.rng.choice(LOCALITIES[place])

    def representative(self) -> dict:
        return {"full_name": f"{self.rng.choice(SURNAMES)} {self.rng.choice(GIVEN)}",
                "id_number": "022" + "".join(self.rng.choice("0123456789") for _ in range(9))}

    def split(self, total: int, parts: int, minimum: int) -> list[int]:
        return uneven_split(self.rng, total, parts, minimum, spread=0.8)

    # -- states -----------------------------------------------------------------------------
    def entity(self, entity_type: str, vsic: str, sector: str, registered_on: date,
               capital_vnd: int, members: int) -> dict:
        prefix = {"HTX": "Hợp tác xã", "LHHTX": "Liên hiệp hợp tác xã", "THT": "Tổ hợp tác"}
        first = {
            "entity_code": self.code(), "entity_type": entity_type,
            "name": self.name(prefix[entity_type], sector), "main_vsic": vsic,
            "locality": self.locality(), "address": f"Thôn {self.rng.randint(1, 12)}",
            "registered_on": registered_on.isoformat(), "status": "dang_hoat_dong",
            "status_since": registered_on.isoformat(), "charter_capital_vnd": capital_vnd,
            "members": members, "legal_representative": self.representative(),
            "updated_at": self.stamp(registered_on, self.rng.randint(0, 3)),
        }
        self.items.append(first)
        return first

    def change(self, state: dict, status: str | None, since: date, recorded: date,
               **fields) -> dict:
        """A new state of an entity: a status change dated `since` and recorded on `recorded`,
        or (status None) a change of other fields that keeps the status and its date."""
        new = dict(state, **fields)
        if status is not None:
            new["status"], new["status_since"] = status, since.isoformat()
        new["updated_at"] = self.stamp(recorded)
        self.items.append(new)
        return new


def generate(seed: int = 2024) -> list[dict]:
    """The API items of the sample (each an entity's state), in no particular order."""
    b = _Builder(seed)
    _counted_cooperatives(b)
    _other_cooperatives(b)
    _unions(b)
    _groups(b)
    _invalid_records(b)
    b.rng.shuffle(b.items)
    across_the_reform(b, LOCALITIES)
    return b.items


def _counted_cooperatives(b: _Builder) -> None:
    """The 895 operating as of 2024-09-30, 148 of them registered in the period."""
    sectors = [s for s, n in HTX_BY_SECTOR.items() for _ in range(n)]
    b.rng.shuffle(sectors)
    total = len(sectors)
    capital_units = b.split(HTX_CAPITAL_VND // 100_000, total, 2_000)  # units of 0.1 million
    members = b.split(HTX_MEMBERS, total, 7)
    states = []
    for i, sector in enumerate(sectors):
        registered = (b.day_between(PERIOD_START, PERIOD_END) if i < HTX_NEW
                      else b.day_between(date(1997, 1, 1), date(2023, 12, 31)))
        states.append(b.entity("HTX", b.rng.choice(VSIC_BY_SECTOR[sector]), sector, registered,
                               capital_units[i] * 100_000, members[i]))
    old = states[HTX_NEW:]
    # Still counted as of 2024-09-30: suspended, not at address, dissolving, revoked.
    for state, status in zip(old[0:30], ["tam_ngung_kinh_doanh"] * 18 + ["khong_hoat_dong_tai_dia_chi"]
                             * 7 + ["dang_giai_the"] * 3 + ["bi_thu_hoi"] * 2):
        since = b.day_between(date(2022, 1, 1), date(2024, 8, 31))
        b.change(state, status, since, since + timedelta(days=b.rng.randint(1, 20)))
    # Dissolved after the period: counted as of 2024-09-30, not as of year end.
    for state in old[30:33]:
        since = b.day_between(date(2024, 10, 5), date(2024, 12, 10))
        b.change(state, "da_giai_the", since, since + timedelta(days=2))
    # Out of order: a correction of an old suspension arrives in August 2024, after the state
    # that ended it; it takes its place in history and the current state stays current.
    for state in old[33:38]:
        suspended = b.change(state, "tam_ngung_kinh_doanh", date(2023, 5, 1), date(2023, 5, 3))
        b.change(suspended, "dang_hoat_dong", date(2023, 11, 1), date(2023, 11, 2))
        b.change(suspended, "tam_ngung_kinh_doanh", date(2023, 4, 20), date(2024, 8, 15))
    # Member counts corrected without a status change (same status_since, later updated_at):
    # the earlier record held fewer members; the latest record is the one that counts.
    for state in old[38:48]:
        state_members = state["members"]
        state["members"] = max(5, state_members - 3)
        b.change(state, None, date(2024, 5, 1), date(2024, 5, 1), members=state_members)
    # The source sent one state twice.
    b.items.append(dict(old[48]))


def _other_cooperatives(b: _Builder) -> None:
    """Cooperatives the 2024 figures must not count, and the one dissolution in the period."""
    for _ in range(60):  # dissolved before 2024
        sector = b.rng.choice(list(VSIC_BY_SECTOR))
        registered = b.day_between(date(1997, 1, 1), date(2017, 12, 31))
        state = b.entity("HTX", b.rng.choice(VSIC_BY_SECTOR[sector]), sector, registered,
                         b.rng.randint(10, 300) * 10**7, b.rng.randint(7, 40))
        since = b.day_between(date(2019, 1, 1), date(2023, 12, 31))
        b.change(state, "da_giai_the", since, since + timedelta(days=5))
    for _ in range(14):  # registered after the period
        sector = b.rng.choice(list(VSIC_BY_SECTOR))
        b.entity("HTX", b.rng.choice(VSIC_BY_SECTOR[sector]), sector,
                 b.day_between(date(2024, 10, 1), date(2024, 12, 15)),
                 b.rng.randint(10, 300) * 10**7, b.rng.randint(7, 40))
    # Dissolved in the period, recorded late (in October), after a dissolution procedure.
    state = b.entity("HTX", "0118", "nong_nghiep", date(2011, 4, 12), 1_500 * 10**6, 9)
    dissolving = b.change(state, "dang_giai_the", date(2024, 3, 11), date(2024, 3, 12))
    b.change(dissolving, "da_giai_the", date(2024, 6, 18), date(2024, 10, 7))


def _unions(b: _Builder) -> None:
    for vsic, capital_million, member_coops in LHHTX:
        sector = "nong_nghiep" if vsic.startswith("0") else "thuong_mai_dich_vu"
        b.entity("LHHTX", vsic, sector, b.day_between(date(2015, 1, 1), date(2023, 6, 30)),
                 capital_million * 10**6, member_coops)
    old = b.entity("LHHTX", "4933", "van_tai", date(2012, 8, 1), 5_000 * 10**6, 3)
    b.change(old, "da_giai_the", date(2021, 7, 1), date(2021, 7, 9))


def _groups(b: _Builder) -> None:
    groups = [g for g, n in THT_BY_GROUP.items() for _ in range(n)]
    b.rng.shuffle(groups)
    members = b.split(THT_MEMBERS, len(groups), 2)
    sector_of = {"nong_lam_ngu": "nong_nghiep", "cong_nghiep_tthc": "cong_nghiep",
                 "khac": "thuong_mai_dich_vu"}
    for group, size in zip(groups, members):
        b.entity("THT", b.rng.choice(VSIC_BY_THT_GROUP[group]), sector_of[group],
                 b.day_between(date(2005, 1, 1), date(2024, 9, 15)), 0, size)
    for _ in range(10):  # dissolved groups
        state = b.entity("THT", "0111", "nong_nghiep",
                         b.day_between(date(2005, 1, 1), date(2019, 12, 31)), 0, 4)
        since = b.day_between(date(2020, 1, 1), date(2024, 8, 31))
        b.change(state, "da_giai_the", since, since + timedelta(days=3))


def _invalid_records(b: _Builder) -> None:
    """Records the pipeline must quarantine with a reason; none of them may reach the figures."""
    template = b.entity("HTX", "0111", "nong_nghiep", date(2019, 2, 1), 10**9, 12)
    b.items.remove(template)
    b.codes.discard(template["entity_code"])
    bad_digit = template["entity_code"][:9] + str((int(template["entity_code"][9]) + 1) % 10)
    b.items.append(dict(template, entity_code=bad_digit, updated_at=b.stamp(date(2024, 2, 2))))
    missing_code = dict(template, updated_at=b.stamp(date(2024, 2, 3)))
    del missing_code["entity_code"]
    b.items.append(missing_code)
    b.items.append(dict(template, entity_code=b.code(), registered_on="2024-02-30",
                        updated_at=b.stamp(date(2024, 3, 1))))
    # An unknown status on an extra state of a counted cooperative: quarantined, the
    # cooperative still counts through its valid states.
    counted = next(i for i in b.items if i["entity_type"] == "HTX" and i.get("entity_code")
                   and i["registered_on"] < "2020-01-01" and i["status"] == "dang_hoat_dong")
    b.items.append(dict(counted, status="hoat_dong", status_since="2024-07-01",
                        updated_at=b.stamp(date(2024, 7, 2))))
    # A locality the matcher cannot place (the province's name): loaded, with a warning.
    b.items.append(dict(counted, locality="tỉnh Quảng Ninh", updated_at=b.stamp(date(2024, 4, 4))))
