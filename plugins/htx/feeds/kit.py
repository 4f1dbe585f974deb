"""The interfaces of a feed (docs/feed-kit.md is the checklist for adding one).

A feed is configuration (`htx.feeds.config.Feed`) naming:
  * its `Source` — where deliveries come from: `FileDrop` (files under the landing root) or
    `ApiPull` (an HTTP API pulled incrementally through a client module, an `ApiClient`);
  * its contract parser, a module that is a `Parser`; one that is also a `BulkCsvParser` may
    declare a database reader (`Feed.bulk_sql`) for its large CSV deliveries (htx.bulk);
  * optionally a batch check (`Feed.batch_check`), a `BatchCheck` of its parser module: a
    table-level rule over all rows of one landed object (e.g. totals that must reconcile);
  * its expectation suite, merge SQL and, for a feed kept outside this repository, migrations.
The pipeline and the DAG factory read a feed through these only, never by its name.

DAG files import this module at parse time: it holds declarations only.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, BinaryIO, ClassVar, Iterator, Protocol, runtime_checkable

from htx.errors import PlatformError


@dataclass(frozen=True)
class FileDrop:
    """Files the source drops under the landing root, matching `glob` (e.g. `tax/*.csv`): each
    delivered file content is one batch."""
    glob: str
    kind: ClassVar[str] = "file_drop"


@dataclass(frozen=True)
class ApiPull:
    """An API pulled incrementally from the feed's cursor: `client` is the importable module (an
    `ApiClient`) that reads its configured connection and pulls its pages. One pull, one batch."""
    client: str
    kind: ClassVar[str] = "api"


Source = FileDrop | ApiPull


@runtime_checkable
class ApiClient(Protocol):
    """What a client module gives the pipeline: its refusal of a pull (a token loop, a limit
    passed: the pages landed until then are kept for inspection), the configured endpoint, and
    the pages of one pull. Its errors name their own request (`names_its_object`, htx.errors)."""
    PullRejected: type[Exception]

    def configured(self) -> Any:
        """The endpoint's settings; a refused setting raises before any batch opens."""

    def fetch_pages(self, api: Any, updated_since: str | None) -> Iterator[tuple[str, bytes]]:
        """(request, body) of each page changed since the cursor, in order."""

    def lineage_name(self, api: Any) -> tuple[str, str]:
        """(namespace, name) of the endpoint as OpenLineage names a dataset."""


@runtime_checkable
class Parser(Protocol):
    """A contract parser: the staged columns (in COPY order; lineage columns are added by the
    pipeline), the derived facts only the suite sees, and the rows of one landed object.
    `parse_object` raises htx.feeds.common.RejectedObject when the object is unusable whole."""
    COLUMNS: tuple[str, ...]
    CHECK_COLUMNS: tuple[str, ...]

    def parse_object(self, raw: bytes | BinaryIO, source_object: str) -> Iterator[Any]:
        """htx.feeds.common.ParsedRow of each delivered row, numbered as in the source."""


@runtime_checkable
class BulkCsvParser(Parser, Protocol):
    """A CSV parser the database reader (htx.bulk) can stand in for: the same header check,
    encodings, delimiter and conversion messages, so both paths give the same result."""
    DELIMITER: str
    HEADERS: dict[str, str]          # contract header → staged column
    FIELD_HEADER: dict[str, str]     # staged column → contract header
    PARSE_MESSAGES: dict[str, str]   # staged column → its conversion failure's message
    EMPTY_DELIVERY: str              # why a file without rows is rejected

    def detect_encoding(self, stream: BinaryIO, source_object: str) -> str:
        """A Python codec name the database also reads; the stream's position is kept."""

    def check_header(self, header: list[str] | None, source_object: str) -> list[str | None]:
        """The staged column of each position; rejects a header that is not the contract's."""


class BatchCheck(Protocol):
    """A feed's table-level rule over all parsed rows of one landed object (quarantined ones
    included), beside the suite's table-level expectations, which see one chunk at a time: the
    reasons the object breaks it, none when it holds. The pipeline holds the object's rows for it
    (bounded by the parser's limits) before any is validated; a reason rejects the whole batch
    through the same path as a failed table-level expectation."""

    def __call__(self, rows: list, source_object: str) -> list[str]:
        """Each broken rule's reason (the object is named by the pipeline)."""


def batch_check_of(feed) -> BatchCheck | None:
    """The feed's declared batch check, a function of its parser module (None: it has none)."""
    if feed.batch_check is None:
        return None
    check = getattr(parser_of(feed), feed.batch_check, None)
    if not callable(check):
        raise PlatformError(f"parser {feed.parser_module} of feed {feed.name} has no batch check "
                            f"{feed.batch_check}")
    return check


def parser_of(feed) -> Parser:
    """The feed's parser module, checked against the interface it must offer (a BulkCsvParser
    when the feed declares a database reader): a missing member fails as the platform's fault,
    naming it, never as a rejected delivery."""
    module = importlib.import_module(feed.parser_module)
    wanted = BulkCsvParser if feed.bulk_sql else Parser
    if not isinstance(module, wanted):
        missing = sorted(name for name in _members(wanted) if not hasattr(module, name))
        raise PlatformError(f"parser {feed.parser_module} of feed {feed.name} is no "
                            f"{wanted.__name__}: it lacks {', '.join(missing)}")
    return module


def _members(protocol: type) -> set[str]:
    return {name for cls in protocol.__mro__ if cls.__module__ == __name__
            for name in (*cls.__dict__.get("__annotations__", {}),
                         *(k for k, v in vars(cls).items() if callable(v) and k[0] != "_"))}
