"""The bundled sample: deterministic data in the sources' own formats, reproducing the figures of
the province's 2025 plan document (tests/fixtures/seed_figures.json).

`registrations.generate()` gives the registry API's items; each file-drop feed has a module of
its name with `write_files(root, registry_items)` writing its drops under the landing root.
Corrected re-sends are written under `_resend/` and delivered by `deliver_resends` afterwards,
as a source would send them later.
"""
from __future__ import annotations

import importlib
import shutil
from pathlib import Path

from htx.feeds.config import FEEDS

RESEND_DIR = "_resend"


def write_drops(root: Path, registry_items: list[dict]) -> list[Path]:
    written: list[Path] = []
    for feed in FEEDS.values():
        if feed.source.kind == "file_drop":
            written += importlib.import_module(f"htx.dev.sample.{feed.name}").write_files(
                root, registry_items)
    return written


def deliver_resends(root: Path) -> list[str]:
    """Move the corrected re-sends over the files they correct; returns their relative paths."""
    resend_root = root / RESEND_DIR
    delivered = []
    for path in sorted(p for p in resend_root.rglob("*") if p.is_file()):
        relative = path.relative_to(resend_root)
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(path), target)
        delivered.append(str(relative))
    return delivered
