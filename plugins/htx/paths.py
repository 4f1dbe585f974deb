"""Where the repository's files live, resolved from this package's location."""
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
INCLUDE = REPO_ROOT / "include"
SQL_DIR = INCLUDE / "sql"
MIGRATIONS_DIR = SQL_DIR / "migrations"
MERGE_SQL_DIR = SQL_DIR / "merge"
MARTS_SQL_DIR = SQL_DIR / "marts"
EXPECTATIONS_DIR = INCLUDE / "expectations"
REFERENCE_DIR = INCLUDE / "reference"
DAGS_DIR = REPO_ROOT / "dags"
PLUGINS_DIR = REPO_ROOT / "plugins"
# Local, untracked state: the local PostgreSQL, Airflow home, generated sample data.
LOCAL_DIR = REPO_ROOT / ".local"
