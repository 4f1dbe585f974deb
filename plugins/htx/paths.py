"""Where the repository's files live, resolved from this package's location; and how the
project's own local files are created: owner-only from their first byte."""
import os
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
# Everything the project's commands create under LOCAL_DIR (htx.devenv sets this umask).
PRIVATE_UMASK = 0o077


def open_private(path: str | Path):
    """`path` opened for writing (binary), created 0600: readable by no one else, not even
    for an instant before a chmod. A file already there is emptied and narrowed to 0600; a link
    there is refused (O_NOFOLLOW)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    os.fchmod(descriptor, 0o600)
    return os.fdopen(descriptor, "wb")


def write_private(path: Path, text: str) -> None:
    with open_private(path) as out:
        out.write(text.encode("utf-8"))
