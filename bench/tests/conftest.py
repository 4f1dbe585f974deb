"""The benchmark's own tests (`python -m pytest -q bench/tests`): the data generators, the
results writer, and a miniature national run against the real local PostgreSQL."""
from __future__ import annotations

import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BENCH.parent / "plugins"))
sys.path.insert(0, str(BENCH))
