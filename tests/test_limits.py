"""The limits (htx.limits) are settings: each HTX_MAX_… variable replaces its default when set,
a malformed one is refused naming it, and the README's limits table says exactly what the
module does."""
import re
from pathlib import Path

import pytest

from htx import limits
from htx.feeds import credit_fund_reports, support_lending
from htx.feeds.common import RejectedObject

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.parametrize("raw", ["abc", "0", "-5", "1.5", "16MiB", "1e6"])
def test_a_malformed_setting_is_refused_naming_it(raw, monkeypatch):
    monkeypatch.setenv("HTX_MAX_JSON_DEPTH", raw)
    with pytest.raises(limits.LimitSettingError) as caught:
        list(credit_fund_reports.parse_object(b"{}", "credit_funds/x.json"))
    assert str(caught.value) == ("refused setting: HTX_MAX_JSON_DEPTH must be a whole number of "
                                 f"levels above 0, not {raw!r}")


def test_a_setting_replaces_its_default(monkeypatch):
    assert limits.XLSX_COLUMNS.value() == 256
    monkeypatch.setenv("HTX_MAX_XLSX_COLUMNS", " 8 ")
    assert limits.XLSX_COLUMNS.value() == 8
    raw = (Path(__file__).parent / "corpus/support_lending/vbsp_202403_small.xlsx").read_bytes()
    with pytest.raises(RejectedObject, match=r"^a value in cell I\d+, beyond the limit of 8 columns "
                                             r"\(HTX_MAX_XLSX_COLUMNS\) — lending/x\.xlsx$"):
        list(support_lending.parse_object(raw, "lending/x.xlsx"))
    monkeypatch.setenv("HTX_MAX_XLSX_COLUMNS", "")
    assert limits.XLSX_COLUMNS.value() == 256   # empty: as if absent


def test_the_readme_lists_every_limit_with_its_default_and_setting():
    rows = {found.group(3): found.groups() for found in re.finditer(
        r"^\| (.+?) \| (.+?) \| `(HTX_MAX_\w+)` \|$", README.read_text(), re.MULTILINE)}
    assert set(rows) == {limit.setting for limit in limits.ALL}
    for limit in limits.ALL:
        what, default, _ = rows[limit.setting]
        assert what == limit.what
        assert default.split(" (")[0] == f"{limit.default:,} {limit.unit}"


def test_a_document_one_level_deeper_than_the_limit_is_refused_and_the_limit_itself_is_read():
    """At the limit, not only where Python's own recursion would give up (50,000 deep)."""
    from htx.feeds import jsondoc

    deepest = limits.JSON_DEPTH.value()
    assert jsondoc.loads("[" * deepest + "]" * deepest, "x.json", what="JSON") is not None
    with pytest.raises(RejectedObject, match=r"^nested deeper than the limit of 32 levels"):
        jsondoc.loads("[" * (deepest + 1) + "]" * (deepest + 1), "x.json", what="JSON")
