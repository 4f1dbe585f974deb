"""`make demo` pointed through the settings at other data — another warehouse, landing zone and
registration API — whose marts hold nothing for the sample's period (2024-01-01 … 2024-09-30):
it prints the latest complete period the marts hold, and a period they do not hold is named
with that one, never a traceback."""
from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import uuid
from datetime import date
from pathlib import Path

import pytest

from conftest import SERVER
from htx import localpg
from htx.cli import main
from htx.sample.registrations import generate

ROOT = Path(__file__).resolve().parents[1]


def registry_of_2025(count: int = 40) -> list[dict]:
    """Another province's registry: cooperatives registered and last changed in early 2025."""
    items = []
    for item in generate()[:count]:
        items.append({**item, "registered_on": "2025-02-10", "status": "dang_hoat_dong",
                      "status_since": "2025-02-10", "updated_at": "2025-03-15T10:00:00+07:00"})
    return items


@pytest.fixture(scope="module")
def other_province(tmp_path_factory, airflow_db):
    from htx.registry_api.standin import RegistryStandIn

    name = f"htx_t_{uuid.uuid4().hex[:10]}"
    localpg.create_database(SERVER, name)
    token = secrets.token_urlsafe(12)
    standin = RegistryStandIn(registry_of_2025(), token).start()
    folder = tmp_path_factory.mktemp("other")
    (folder / "landing").mkdir()
    settings = {
        "AIRFLOW_CONN_HTX_WAREHOUSE": SERVER.uri(name),
        "HTX_LANDING_URL": str(folder / "landing"),
        "AIRFLOW_CONN_HTX_REGISTRY_API": json.dumps(
            {"conn_type": "http", "host": standin.base_url, "password": token}),
        "HTX_EXPORT_DIR": str(folder / "exports"), "HTX_DATA_DOCS_DIR": str(folder / "docs")}
    demo = subprocess.run([sys.executable, "-m", "htx", "demo"], cwd=ROOT, capture_output=True,
                          text=True, timeout=1200, env={**os.environ, **settings,
                                                        "PYTHONPATH": str(ROOT / "plugins")})
    yield demo, settings
    standin.stop()
    localpg.drop_database(SERVER, name)


def test_the_demo_prints_the_latest_complete_period_the_marts_hold(other_province):
    demo, settings = other_province
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "Traceback" not in demo.stderr
    assert "mart.plan_indicator, 01/01/2025 … 31/03/2025" in demo.stdout
    assert "HTX_TOTAL" in demo.stdout and "01/01/2024" not in demo.stdout
    exports = Path(settings["HTX_EXPORT_DIR"])
    assert (exports / "ke_hoach_kttt_2025-01-01_2025-03-31.xlsx").is_file()


def test_a_period_the_marts_do_not_hold_is_named_with_the_latest_they_do(other_province,
                                                                        monkeypatch, capsys):
    _, settings = other_province
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    assert main(["indicators", "--start", "2024-01-01", "--end", "2024-09-30"]) == 1
    said = capsys.readouterr().err
    assert "no indicators for 01/01/2024 – 30/09/2024" in said
    assert "--start 2025-01-01 --end 2025-03-31" in said
    assert main(["indicators"]) == 0
    assert "mart.plan_indicator, 01/01/2025 … 31/03/2025" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["indicators", "--start", str(date(2025, 1, 1))])   # --end missing
