"""The landing zone: every delivered object kept untouched, named by feed, batch and checksum.

`HTX_LANDING_URL` is a local path or any fsspec URL (`file:///…`, `s3://…`) read through Airflow's
ObjectStoragePath, so the same code serves the demo's folder and a production bucket. Landed
copies live under `_landed/<feed>/<batch>/`; sources' own drop folders are never modified.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class LandedObject:
    url: str
    sha256: str
    size_bytes: int


def as_url(location: str) -> str:
    """A plain local path becomes a file:// URL; URLs pass through."""
    return location if "://" in location else Path(location).resolve().as_uri()


class LandingZone:
    def __init__(self, url: str):
        from airflow.sdk import ObjectStoragePath

        self.root = ObjectStoragePath(as_url(url))

    @classmethod
    def configured(cls) -> "LandingZone":
        from htx.settings import landing_url

        return cls(landing_url())

    def land(self, feed: str, batch_id: int, name: str, data: bytes) -> LandedObject:
        digest = hashlib.sha256(data).hexdigest()
        stem, dot, suffix = name.rpartition(".")
        target = self.root / "_landed" / feed / f"batch-{batch_id:08d}" / (
            f"{stem}.{digest[:12]}{dot}{suffix}" if dot else f"{name}.{digest[:12]}")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return LandedObject(str(target), digest, len(data))

    def delivered(self, pattern: str) -> list:
        """Objects a source dropped matching `pattern` (relative glob), oldest first: a re-sent
        file, being newer, is processed after the version it corrects."""
        found = [path for path in self.root.glob(pattern) if path.is_file()]
        return sorted(found, key=lambda path: (path.stat().st_mtime, str(path)))

    def relative(self, path) -> str:
        return str(path.relative_to(self.root))

    def read(self, url: str) -> bytes:
        from airflow.sdk import ObjectStoragePath

        return ObjectStoragePath(url).read_bytes()
