"""The landing zone: every delivered object kept untouched, named by feed, batch and checksum.

`HTX_LANDING_URL` is a local path or any fsspec URL (`file:///…`, `s3://…`) read through Airflow's
ObjectStoragePath, so the same code serves the demo's folder and a production bucket. Landed
copies live under `_landed/<feed>/<batch>/`; sources' own drop folders are never modified.
Delivered files are copied in CHUNK_BYTES pieces and hashed on the way (one read of the file), so
landing a 10 GB file takes no more memory than landing a 10 kB one.
"""
from __future__ import annotations

import hashlib
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class LandedObject:
    url: str
    sha256: str
    size_bytes: int


@dataclass(frozen=True)
class Delivery:
    """A delivered object as its store describes it, before anything reads it."""
    path: object          # ObjectStoragePath
    relative: str         # path under the zone's root: what the batch records as its source
    size_bytes: int
    mtime: float          # seconds since the epoch, as the store reports it


class DeliveryChanged(RuntimeError):
    """A delivered file changed while it was being landed: a source still writing."""


def as_url(location: str) -> str:
    """A plain local path becomes a file:// URL; URLs pass through."""
    return location if "://" in location else Path(location).resolve().as_uri()


@dataclass
class Received:
    """A delivered file copied into the zone under a temporary name, with its sha256."""
    zone: "LandingZone"
    feed: str
    name: str
    incoming: object      # ObjectStoragePath of the copy
    sha256: str
    size_bytes: int
    kept: bool = False

    def keep(self, batch_id: int) -> LandedObject:
        """File the copy under its batch, named by its digest."""
        target = self.zone._target(self.feed, batch_id, self.name, self.sha256)
        self.incoming.rename(target)
        self.kept = True
        return LandedObject(str(target), self.sha256, self.size_bytes)


class LandingZone:
    def __init__(self, url: str):
        from airflow.sdk import ObjectStoragePath

        self.root = ObjectStoragePath(as_url(url))

    @classmethod
    def configured(cls) -> "LandingZone":
        from htx.settings import landing_url

        return cls(landing_url())

    def land(self, feed: str, batch_id: int, name: str, data: bytes) -> LandedObject:
        """Land bytes received whole (an API page)."""
        digest = hashlib.sha256(data).hexdigest()
        target = self._target(feed, batch_id, name, digest)
        target.write_bytes(data)
        return LandedObject(str(target), digest, len(data))

    @contextmanager
    def receive(self, feed: str, source):
        """Copy a delivered file into the zone by CHUNK_BYTES, hashing it on the way, and yield
        it as Received: keep(batch_id) lands it, otherwise the copy is deleted on exit. A file
        whose size or mtime moved while it was copied is refused (DeliveryChanged)."""
        incoming = self.root / "_landed" / feed / "_incoming" / f"{uuid.uuid4().hex}.part"
        incoming.parent.mkdir(parents=True, exist_ok=True)
        received = None
        try:
            before = source.stat()
            digest, size = hashlib.sha256(), 0
            with source.open("rb") as reader, incoming.open("wb") as writer:
                while chunk := reader.read(CHUNK_BYTES):
                    digest.update(chunk)
                    writer.write(chunk)
                    size += len(chunk)
            after = source.stat()
            if (before.st_size, before.st_mtime) != (after.st_size, after.st_mtime):
                raise DeliveryChanged(f"changed while it was being landed ({before.st_size:,} →"
                                      f" {after.st_size:,} bytes); the next run lands it: {source}")
            received = Received(self, feed, source.name, incoming, digest.hexdigest(), size)
            yield received
        finally:
            if received is None or not received.kept:
                incoming.unlink(missing_ok=True)

    def _target(self, feed: str, batch_id: int, name: str, digest: str):
        stem, dot, suffix = name.rpartition(".")
        target = self.root / "_landed" / feed / f"batch-{batch_id:08d}" / (
            f"{stem}.{digest[:12]}{dot}{suffix}" if dot else f"{name}.{digest[:12]}")
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def deliveries(self, pattern: str) -> list[Delivery]:
        """Objects a source dropped matching `pattern` (relative glob), oldest first: a re-sent
        file, being newer, is processed after the version it corrects. Each is stat'ed once."""
        found = []
        for path in self.root.glob(pattern):
            if path.is_file():
                stat = path.stat()
                found.append(Delivery(path, self.relative(path), stat.st_size, stat.st_mtime))
        return sorted(found, key=lambda d: (d.mtime, str(d.path)))

    def relative(self, path) -> str:
        return str(path.relative_to(self.root))

    def read(self, url: str) -> bytes:
        """A landed object whole: for small objects (API pages) only."""
        from airflow.sdk import ObjectStoragePath

        return ObjectStoragePath(url).read_bytes()

    def open(self, url: str):
        """A landed object as a binary file object (a context manager), for streamed reads."""
        from airflow.sdk import ObjectStoragePath

        return ObjectStoragePath(url).open("rb")
