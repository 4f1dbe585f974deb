"""The landing zone: every delivered object kept untouched, named by feed, batch and checksum.

`HTX_LANDING_URL` is a local path or any fsspec URL (`file:///…`, `s3://bucket/prefix`) read through
Airflow's ObjectStoragePath, so the same code serves the demo's folder and a production bucket
that every worker shares. An object store's credentials come from an Airflow connection, named by
`HTX_LANDING_CONN_ID` (or in the URL as ObjectStoragePath's `s3://<conn_id>@bucket/prefix`), never
from the URL itself. Landed copies live under `_landed/<feed>/<batch>/`; sources' own drop folders
are never modified.
Delivered files are copied in CHUNK_BYTES pieces and hashed on the way (one read of the file), so
landing a 10 GB file takes no more memory than landing a 10 kB one.

Any name works — spaces, Vietnamese letters, `[1]`, a tab: deliveries are found by listing the
folders their pattern names and matching each name, never by handing a path to a glob. Links
are never followed (a delivery that is a symbolic link, or sits below one, is refused by name
and nothing of its target is read), nor is anything but a regular file read. On a local disk
landed copies are created owner-only (files 0600 in folders 0700) from the first byte.
"""
from __future__ import annotations

import hashlib
import io
import os
import stat
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from urllib.parse import unquote, urlsplit

from htx.errors import PlatformError, Rejection
from htx.paths import open_private
from htx.settings import landing_conn_id, landing_url

# Function-local imports: Airflow's ObjectStoragePath (Airflow: seconds to import) only when a
# landing zone is opened: the command line imports this module (through htx.pipeline) for
# commands that never land.

CHUNK_BYTES = 1 << 20
LOCAL_PROTOCOLS = ("file", "local", "")


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
    refused: str | None = None  # why it is not read at all (a link, not a regular file)


class DeliveryChanged(RuntimeError):
    """A delivered file changed while it was being landed: a source still writing."""


class RefusedDelivery(Rejection):
    """A delivery that is not read at all: a symbolic link or not a regular file."""


class LandingZoneUnwritable(PlatformError):
    """The landing zone itself refused a copy: the platform's fault, not the delivery's."""


def as_url(location: str) -> str:
    """A plain local path becomes a file:// URL; URLs pass through."""
    return location if "://" in location else Path(location).resolve().as_uri()


def _storage_path(url: str, conn_id: str | None = None):
    """The ObjectStoragePath of a URL, read with the connection `conn_id` (an object store's).
    A file:// URL is a percent-encoded path (RFC 8089), which ObjectStoragePath would take
    literally (`a%20b`): it is decoded first."""
    from airflow.sdk import ObjectStoragePath

    parts = urlsplit(url)
    if parts.scheme == "file":
        return ObjectStoragePath("file://" + unquote(parts.path))
    return ObjectStoragePath(url, conn_id=conn_id)


def _is_local(path) -> bool:
    return path.protocol in LOCAL_PROTOCOLS


def open_delivery(path):
    """A delivered object opened for reading. On a local disk the file must still be a regular
    file and no link (O_NOFOLLOW: a file swapped for a link after the listing is refused too)."""
    if not _is_local(path):
        return path.open("rb")
    descriptor = os.open(path.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(descriptor).st_mode):
        os.close(descriptor)
        raise RefusedDelivery("refused: not a regular file (a device, a pipe or a socket)")
    return os.fdopen(descriptor, "rb")


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
        try:
            self.incoming.rename(target)
        except OSError as err:
            raise LandingZoneUnwritable(f"the landing zone refused a copy ({err})") from None
        self.kept = True
        return LandedObject(str(target), self.sha256, self.size_bytes)


def refuse_credentials(url: str) -> None:
    """A `user:secret@` in the URL would be logged and stored with every landed object's URL."""
    if ":" in urlsplit(url).netloc.rpartition("@")[0]:
        raise ValueError("the landing zone URL holds credentials: keep them in an Airflow"
                         " connection named by HTX_LANDING_CONN_ID (scheme://bucket/prefix)")


class LandingZone:
    def __init__(self, url: str, conn_id: str | None = None):
        refuse_credentials(url)
        self.root = _storage_path(as_url(url), conn_id)

    @classmethod
    def configured(cls) -> "LandingZone":
        url = landing_url()
        local = as_url(url).startswith("file:")   # a folder needs no connection
        return cls(url, None if local else landing_conn_id())

    def land(self, feed: str, batch_id: int, name: str, data: bytes) -> LandedObject:
        """Land bytes received whole (an API page)."""
        digest = hashlib.sha256(data).hexdigest()
        target = self._target(feed, batch_id, name, digest)
        with self._create(target) as writer:
            writer.write(data)
        return LandedObject(str(target), digest, len(data))

    @contextmanager
    def receive(self, feed: str, source):
        """Copy a delivered file into the zone by CHUNK_BYTES, hashing it on the way, and yield
        it as Received: keep(batch_id) lands it, otherwise the copy is deleted on exit. A file
        whose size or mtime moved while it was copied is refused (DeliveryChanged)."""
        incoming = self._folder(self.root / "_landed" / feed / "_incoming") / (
            f"{uuid.uuid4().hex}.part")
        received = None
        try:
            before = source.stat()
            digest, size = hashlib.sha256(), 0
            with open_delivery(source) as reader, self._create(incoming) as writer:
                while chunk := reader.read(CHUNK_BYTES):
                    digest.update(chunk)
                    writer.write(chunk)
                    size += len(chunk)
            after = source.stat()
            if (before.st_size, before.st_mtime) != (after.st_size, after.st_mtime):
                raise DeliveryChanged(
                    f"changed while it was being landed ({before.st_size:,} → {after.st_size:,}"
                    f" bytes); the next run lands it — {source}")
            received = Received(self, feed, source.name, incoming, digest.hexdigest(), size)
            yield received
        finally:
            if received is None or not received.kept:
                incoming.unlink(missing_ok=True)

    def _target(self, feed: str, batch_id: int, name: str, digest: str):
        # Control characters (a tab, a newline) would be dropped from the landed copy's URL
        # when it is read back: the copy's name, ours to choose, has none.
        name = "".join("_" if ord(c) < 32 or ord(c) == 127 else c for c in name)
        stem, dot, suffix = name.rpartition(".")
        target = self.root / "_landed" / feed / f"batch-{batch_id:08d}" / (
            f"{stem}.{digest[:12]}{dot}{suffix}" if dot else f"{name}.{digest[:12]}")
        self._folder(target.parent)
        return target

    @staticmethod
    def _folder(folder):
        """`folder`, created if missing: on a local disk 0700 from the start."""
        try:
            if _is_local(folder):
                _private_folders(Path(folder.path))
            else:
                folder.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise LandingZoneUnwritable(f"the landing zone refused a folder ({err})") from None
        return folder

    @staticmethod
    def _create(target):
        """A landed copy opened for writing: on a local disk created 0600 (never readable by
        others, not even for an instant); elsewhere the store's own access rules apply."""
        try:
            return open_private(target.path) if _is_local(target) else target.open("wb")
        except OSError as err:
            raise LandingZoneUnwritable(f"the landing zone refused a copy ({err})") from None

    def deliveries(self, pattern: str) -> list[Delivery]:
        """Objects a source dropped matching `pattern` (`/`-separated, fnmatch per segment),
        oldest first: a re-sent file, being newer, is processed after the version it corrects.
        Links and anything but regular files come back refused, by name, with nothing read."""
        found = list(self._matching(self.root.path, pattern.split("/")))
        return sorted(found, key=lambda d: (d.mtime, str(d.path)))

    def _matching(self, folder: str, segments: list[str]):
        try:
            # refresh: an object store's listings are cached by its filesystem for the process.
            entries = self.root.fs.ls(folder, detail=True, refresh=True)
        except FileNotFoundError:
            return
        for entry in entries:
            name = entry["name"].rstrip("/").rsplit("/", 1)[-1]
            if not fnmatchcase(name, segments[0]):
                continue
            kind = entry.get("type")
            if len(segments) > 1 and kind == "directory" and not entry.get("islink"):
                yield from self._matching(entry["name"], segments[1:])
            elif len(segments) == 1 or entry.get("islink"):
                yield self._delivery(entry)

    def _delivery(self, entry: dict) -> Delivery:
        relative = self._relative(entry["name"])
        path = self.root / relative
        if entry.get("islink"):
            return Delivery(path, relative, 0, _lstat_mtime(path),
                            "refused: a symbolic link (links are never followed)")
        if entry.get("type") != "file":
            return Delivery(path, relative, 0, _lstat_mtime(path),
                            "refused: not a regular file (a folder, a device, a pipe or a socket)")
        stat = path.stat()
        return Delivery(path, relative, stat.st_size, stat.st_mtime)

    def _relative(self, listed: str) -> str:
        """A listed name's path under the zone's root (by prefix: object stores' paths cannot
        be relative_to'd)."""
        root = self.root.path.rstrip("/") + "/"
        if not listed.startswith(root):
            raise ValueError(f"{listed} is not under the landing zone {self.root}")
        return listed[len(root):]

    def open(self, url: str):
        """A landed object (its URL as `land` gave it) as a binary file object (a context
        manager): parsers read it within their limits (htx.limits), never whole whatever its
        size. An object store's file is buffered by `io`, whose `readline(limit)` stops at the
        limit (fsspec's own takes no limit)."""
        landed = self._landed(url)
        stream = landed.open("rb")
        return stream if _is_local(landed) else io.BufferedReader(stream, CHUNK_BYTES)

    def _landed(self, url: str):
        """A landed object's URL (as recorded, `s3://<conn_id>@…` when the zone has a
        connection) read with the zone's connection."""
        from airflow.sdk import ObjectStoragePath

        return ObjectStoragePath(url, conn_id=self.root.conn_id)


def _lstat_mtime(path) -> float:
    """The entry's own mtime (a link's, not its target's); 0 where the store has none."""
    try:
        return os.lstat(path.path).st_mtime if _is_local(path) else 0.0
    except OSError:
        return 0.0


def _private_folders(folder: Path) -> None:
    """Create `folder` and its missing parents, each 0700 from the start."""
    missing = []
    while not folder.is_dir():
        missing.append(folder)
        folder = folder.parent
    for each in reversed(missing):
        try:
            each.mkdir(mode=0o700)
        except FileExistsError:  # made by a concurrent landing
            pass
