"""How a failure is classed and told: worth a retry or not, and the reason before the object.

A *transient* failure is the infrastructure's — the warehouse restarting or unreachable, the
network, a full disk — and the task is retried. Anything else is *deterministic* — bad data, a
refused setting, a rejected delivery — and retrying cannot help: inside one delivery it rejects
that delivery only (htx.pipeline); outside one it fails the task at once (htx.dag_factory).
A *platform* fault (the landing zone unwritable, a privilege or a table missing in the warehouse,
the project's own SQL) is deterministic but no delivery's doing: it fails the task without
rejecting anything, and the next run takes the deliveries up again.
Every message puts the reason first and the object (file, URL) after it, and is redacted
(htx.redaction) before it reaches a log, an alert, an audit row or Airflow.
"""
from __future__ import annotations

import errno
import logging
import traceback
import unicodedata

from htx.redaction import redact

# Function-local imports: every parser imports this module; the libraries whose errors it classes
# (Airflow, psycopg2, requests) are imported only when an error is classed.

# A full disk or quota is the machine's state, not the delivery's: the retry may find room.
_TRANSIENT_ERRNOS = {errno.ENOSPC, errno.EDQUOT}


class Rejection(Exception):
    """A planned rejection of a delivery, which says why in its own words: recorded without its
    class name. Any error may set `names_its_object` when its message names its object already
    (a landed file, an API request), so that the batch's is not added again."""
    names_its_object = False


class Transient(Exception):
    """A failure of something outside the platform that a later try may not meet (an endpoint
    still unreachable after a client's own retries)."""


def is_transient(err: BaseException) -> bool:
    """Whether retrying the task later may succeed where this attempt failed."""
    import psycopg2
    import requests

    if isinstance(err, (psycopg2.OperationalError, psycopg2.InterfaceError,
                        psycopg2.errors.TransactionRollbackError)):
        return True  # server gone or restarting, connection cut, deadlock or serialization
    if isinstance(err, (ConnectionError, TimeoutError, requests.ConnectionError,
                        requests.Timeout, Transient)):
        return True
    return isinstance(err, OSError) and err.errno in _TRANSIENT_ERRNOS


class PlatformError(Exception):
    """A failure of the platform itself, never of the delivery being processed."""


def is_platform_fault(err: BaseException) -> bool:
    import psycopg2

    return isinstance(err, (PlatformError, psycopg2.ProgrammingError, psycopg2.InternalError,
                            psycopg2.NotSupportedError))


def blames_delivery(err: BaseException) -> bool:
    """Whether the delivery being processed is what failed: anything but the infrastructure."""
    return not (is_transient(err) or is_platform_fault(err))


def describe(err: BaseException) -> str:
    """`Class: message`, on one line, redacted: what a rejection or a failure records."""
    message = str(err).strip()
    return redact(f"{type(err).__name__}: {message}" if message else type(err).__name__)


def with_object(reason: str, source: str | None) -> str:
    """The reason, then the object it is about (unless the reason ends with it already)."""
    if not source or reason.endswith(f" — {printable(source)}"):
        return reason
    return f"{reason} — {printable(source)}"


_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def printable(text: str) -> str:
    """A name as one line of text: control characters and line separators (a tab or a newline
    in a file name) shown escaped, so that they can neither break a header nor forge a log line."""
    def shown(c: str) -> str:
        if c in _ESCAPES:
            return _ESCAPES[c]
        return f"\\u{ord(c):04x}" if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c

    return "".join(shown(c) for c in text)


class TransientFailure(Exception):
    """A transient failure as Airflow sees it: retried; its message redacted."""


def for_airflow(err: Exception) -> BaseException:
    """What a task raises for `err`: Airflow's own exceptions as they are; a transient failure
    as one that Airflow retries; anything else as AirflowFailException, which fails the task at
    once (retrying cannot help). The original traceback is logged, redacted; the exception
    raised carries no secret and no chained cause."""
    from airflow.sdk.exceptions import AirflowException, AirflowFailException

    if isinstance(err, AirflowException):
        return err
    logging.getLogger("htx.errors").error(
        "%s", redact("".join(traceback.format_exception(err)).rstrip()))
    message = describe(err)
    if is_transient(err):
        return TransientFailure(message)
    if isinstance(err, Rejection):  # a rejected batch: recorded already, in its own words
        message = message.removeprefix(f"{type(err).__name__}: ")
    return AirflowFailException(message)
