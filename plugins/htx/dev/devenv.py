"""The local environment of `make demo`, `make test` and `make up`.

Each operator setting (contracts README) keeps any value already in the environment and is only
defaulted when absent: the warehouse and Airflow's metadata database go to the local PostgreSQL
server (started on demand) — the DAGs logging in as their own login, migrations as the owner —
the landing zone to `.local/landing`. The registration API's stand-in is started by the commands
that need it (see htx.cli). Everything created from here on, by this process and the ones it
starts (Airflow, PostgreSQL), is owner-only from its first byte (umask 077).
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from htx.dev import localpg
from htx.migrate import migrate
from htx.paths import DAGS_DIR, LOCAL_DIR, PLUGINS_DIR, PRIVATE_UMASK
from htx.settings import ENV_LANDING_URL, ENV_WAREHOUSE, ENV_WAREHOUSE_OWNER

METADATA_ENV = "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"


def prepare(warehouse_db: str = "htx_warehouse", metadata_db: str = "airflow") -> dict[str, str]:
    """Set (in os.environ) and return every variable the project needs; start the local server
    only for what is not configured."""
    os.umask(PRIVATE_UMASK)
    if LOCAL_DIR.is_dir():
        # Made before this rule, maybe: nobody else lists it (a server run as another user only
        # passes through it, htx.dev.localpg).
        LOCAL_DIR.chmod(LOCAL_DIR.stat().st_mode & 0o711)
    env: dict[str, str] = {}
    if not os.environ.get(ENV_WAREHOUSE) or not os.environ.get(METADATA_ENV):
        server = localpg.ensure_running(databases=(metadata_db, warehouse_db))
        if not os.environ.get(ENV_WAREHOUSE):
            env[ENV_WAREHOUSE] = localpg.dags_login(server).uri(warehouse_db)
            env[ENV_WAREHOUSE_OWNER] = server.uri(warehouse_db)
        env[METADATA_ENV] = server.uri(metadata_db, driver="postgresql+psycopg2")
    env.update({
        "AIRFLOW_HOME": str(LOCAL_DIR / "airflow"),
        "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_DIR),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(PLUGINS_DIR),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__API__HOST": "127.0.0.1",
        ENV_LANDING_URL: str(LOCAL_DIR / "landing"),
        "HTX_EXPORT_DIR": str(LOCAL_DIR / "exports"),   # XLSX and HTML reports (htx.exports)
        "GX_ANALYTICS_ENABLED": "False",
        "NO_PROXY": "127.0.0.1,localhost",
    })
    for name, value in env.items():
        os.environ.setdefault(name, value)
    paths = os.environ.get("PYTHONPATH", "")
    if str(PLUGINS_DIR) not in paths.split(os.pathsep):
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PLUGINS_DIR), paths]))
    venv_bin = str(Path(sys.executable).parent)  # `airflow standalone` re-runs `airflow`
    if venv_bin not in os.environ["PATH"].split(os.pathsep):
        os.environ["PATH"] = venv_bin + os.pathsep + os.environ["PATH"]
    Path(os.environ["AIRFLOW_HOME"]).mkdir(parents=True, exist_ok=True)
    return {name: os.environ[name] for name in env}


def migrate_all() -> None:
    """Airflow's metadata database, then the warehouse: both idempotent."""
    done = subprocess.run([str(Path(sys.executable).parent / "airflow"), "db", "migrate"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"airflow db migrate failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    migrate()
