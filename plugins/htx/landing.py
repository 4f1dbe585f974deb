"""The landing zone: every delivered object kept untouched, named by feed, batch and checksum.

`HTX_LANDING_URL` is a local path or any fsspec URL (`file:///…`, `s3://bucket/prefix`) read through
Airflow's ObjectStoragePath, so the same code serves the demo's folder and a production bucket
that every worker shares. An object store's credentials come from an Airflow connection, named by
`HTX_LANDING_CONN_ID` (or in the URL as ObjectStoragePath's `s3://<conn_id>@bucket/prefix`), never
from the URL itself. Landed copies live under `_landed/<feed>/<batch>/`; sources' own drop folders
are never modified.
Delivered files are hashed and copied in CHUNK_BYTES pieces, so landing a 10 GB file takes no
more memory than landing a 10 kB one.
"""
from __future__ import annotations

import hashlib
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
    """A delivered file changed between its hashing and its landing: a source still writing."""


def as_url(location: str) -> str:
    """A plain local path becomes a file:// URL; URLs pass through."""
    return location if "://" in location else Path(location).resolve().as_uri()


def sha256_of(path) -> str:
    """The object's sha256, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def refuse_credentials(url: str) -> None:
    """A `user:secret@` in the URL would be logged and stored with every landed object's URL."""
    from urllib.parse import urlsplit

    if ":" in urlsplit(url).netloc.rpartition("@")[0]:
        raise ValueError("the landing zone URL holds credentials: keep them in an Airflow"
                         " connection named by HTX_LANDING_CONN_ID (scheme://bucket/prefix)")


class LandingZone:
    def __init__(self, url: str, conn_id: str | None = None):
        from airflow.sdk import ObjectStoragePath

        refuse_credentials(url)
        self.root = ObjectStoragePath(as_url(url), conn_id=conn_id)

    @classmethod
    def configured(cls) -> "LandingZone":
        from htx.settings import landing_conn_id, landing_url

        url = landing_url()
        local = as_url(url).startswith("file:")   # a folder needs no connection
        return cls(url, None if local else landing_conn_id())

    def land(self, feed: str, batch_id: int, name: str, data: bytes) -> LandedObject:
        """Land bytes received whole (an API page)."""
        digest = hashlib.sha256(data).hexdigest()
        target = self._target(feed, batch_id, name, digest)
        target.write_bytes(data)
        return LandedObject(str(target), digest, len(data))

    def land_file(self, feed: str, batch_id: int, source, sha256: str) -> LandedObject:
        """Land a delivered file by a chunked copy. `sha256` is its digest from a first pass
        (it names the copy); the copy is hashed again as it goes, so a file rewritten in between
        is refused instead of being landed under another content's name."""
        target = self._target(feed, batch_id, source.name, sha256)
        digest, size = hashlib.sha256(), 0
        with source.open("rb") as reader, target.open("wb") as writer:
            while chunk := reader.read(CHUNK_BYTES):
                digest.update(chunk)
                writer.write(chunk)
                size += len(chunk)
        if digest.hexdigest() != sha256:
            target.unlink()
            raise DeliveryChanged(
                f"{source} changed while it was being landed (sha256 {sha256[:12]}… when hashed,"
                f" {digest.hexdigest()[:12]}… when copied); the next run lands it")
        return LandedObject(str(target), sha256, size)

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
        """The path under the zone's root (object stores' paths cannot be relative_to'd)."""
        root = self.root.path.rstrip("/") + "/"
        if not path.path.startswith(root):
            raise ValueError(f"{path} is not under the landing zone {self.root}")
        return path.path[len(root):]

    def open(self, url: str):
        """A landed object as a binary file object (a context manager): parsers read it within
        their limits (htx.limits), never whole whatever its size."""
        return self._landed(url).open("rb")

    def _landed(self, url: str):
        """A landed object's URL (as recorded, `s3://<conn_id>@…` when the zone has a
        connection) read with the zone's connection."""
        from airflow.sdk import ObjectStoragePath

        return ObjectStoragePath(url, conn_id=self.root.conn_id)
