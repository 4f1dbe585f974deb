"""Pull pages from the registration API with paging, retries with backoff, and `Retry-After`.

Contract: 401 is a bad token (never retried), 429 carries `Retry-After: <seconds>`, 5xx and
timeouts are transient. Each page's body is yielded exactly as received, for landing untouched.

Every pull is bounded (htx.limits): each page's size and read time, the pages and bytes of the
whole pull. A pull that cannot end well — a `next_page_token` seen before, pages that bring
nothing new, a page or a pull beyond its limit, a page that is not the contract's JSON — raises
`PullRejected` at once: retrying would only repeat it.
"""
from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from dataclasses import dataclass
from itertools import count
from typing import Callable, Iterator
from urllib.parse import urlsplit

from htx import limits
from htx.errors import Rejection, Transient
from htx.feeds import jsondoc
from htx.feeds.common import RejectedObject
from htx.settings import RegistryApi, registry_api

# Function-local imports: requests and urllib3 only when the API is pulled.

log = logging.getLogger(__name__)

ENTITIES_PATH = "/api/v1/entities"
# Empty pages in a row, each with a next_page_token, after which the pull is not advancing.
MAX_EMPTY_PAGES_IN_A_ROW = 5
READ_BYTES = 1 << 16


class RegistryApiError(Exception):
    """The API answered in a way retrying cannot fix (auth, bad request, malformed page)."""
    names_its_object = True   # its message names the request


class PullRejected(RegistryApiError, Rejection):
    """What the pull delivered cannot load, whatever retrying: nothing of the pull may load."""


class RegistryApiUnreachable(RegistryApiError, Transient):
    """Still unreachable or failing after every attempt: the task's own retry may find it back."""


class _SlowPage(Exception):
    """A page still arriving when its read time ran out (transient: retried)."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6            # per page
    base_delay_s: float = 1.0    # exponential backoff: 1, 2, 4, 8 … seconds, with jitter
    max_delay_s: float = 60.0
    max_retry_after_s: float = 300.0
    timeout_s: float = 30.0      # connecting, and each wait for more bytes


@dataclass(frozen=True)
class _Bounds:
    pages: int
    pull_bytes: int
    page_bytes: int
    page_seconds: int

    @classmethod
    def configured(cls) -> "_Bounds":
        return cls(limits.API_PAGES.value(), limits.API_PULL_BYTES.value(),
                   limits.JSON_BYTES.value(), limits.API_PAGE_SECONDS.value())


def configured() -> RegistryApi:
    """The registry's endpoint and token, from connection htx_registry_api (htx.settings)."""
    return registry_api()


def lineage_name(api: RegistryApi) -> tuple[str, str]:
    """(namespace, name) of the entities endpoint, as OpenLineage names a dataset."""
    base = urlsplit(api.base_url)
    return f"{base.scheme}://{base.hostname}" + (f":{base.port}" if base.port else ""), \
        base.path.rstrip("/") + ENTITIES_PATH


def fetch_pages(api: RegistryApi, updated_since: str | None, page_size: int = 500,
                policy: RetryPolicy = RetryPolicy(),
                sleep: Callable[[float], None] = time.sleep) -> Iterator[tuple[str, bytes]]:
    """Yield (request description, raw body) for every page of one pull."""
    import requests

    bounds = _Bounds.configured()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {api.token}"
    params: dict = {"page_size": page_size}
    if updated_since:
        params["updated_since"] = updated_since
    progress = _Progress(bounds)
    for number in count(1):
        request = f"GET {ENTITIES_PATH}?{_describe(params)}"
        body = _get(session, api.base_url + ENTITIES_PATH, dict(params), request, policy, sleep,
                    bounds)
        next_token = progress.check(number, body, request)
        yield request, body
        if not next_token:
            return
        params["page_token"] = next_token


class _Progress:
    """What one pull has seen so far: it must advance, and stay within its limits."""

    def __init__(self, bounds: _Bounds):
        self.bounds = bounds
        self.tokens: set[str] = set()
        self.pages: dict[str, int] = {}   # digest of a page's items → its page number
        self.pulled_bytes = self.empty_in_a_row = 0

    def check(self, number: int, body: bytes, request: str) -> str | None:
        """The page's next_page_token, once the page is found to be the contract's, new and
        within the pull's limits."""
        self.pulled_bytes += len(body)
        if self.pulled_bytes > self.bounds.pull_bytes:
            limit = limits.API_PULL_BYTES.named(self.bounds.pull_bytes)
            raise PullRejected(f"the pull passed its limit of {limit} at page {number}"
                               f" — {request}")
        items, token = _page(body, request)
        if token and token in self.tokens:
            raise PullRejected(f"the API sent next_page_token {_short(token)!r} a second time, on "
                               f"page {number}: the pull would never end — {request}")
        self._advances(number, items, token, request)
        if token and number >= self.bounds.pages:
            raise PullRejected(f"the pull reached its limit of "
                               f"{limits.API_PAGES.named(self.bounds.pages)} with pages still to "
                               f"come — {request}")
        if token:
            self.tokens.add(token)
        return token

    def _advances(self, number: int, items: list, token: str | None, request: str) -> None:
        """A page must bring something new: not the items of an earlier page again (a token
        that changes while the pages do not), not empty page after empty page."""
        if not items:
            self.empty_in_a_row = self.empty_in_a_row + 1 if token else 0
            if self.empty_in_a_row > MAX_EMPTY_PAGES_IN_A_ROW:
                raise PullRejected(f"{self.empty_in_a_row} empty pages in a row, each with a "
                                   "next_page_token: the page sequence does not advance — "
                                   f"{request}")
            return
        self.empty_in_a_row = 0
        digest = hashlib.sha256(json.dumps(items, sort_keys=True).encode()).hexdigest()
        if digest in self.pages:
            raise PullRejected(f"page {number} repeats the items of page {self.pages[digest]} "
                               f"under a new next_page_token: the page sequence does not advance"
                               f" — {request}")
        self.pages[digest] = number


def _page(body: bytes, request: str) -> tuple[list, str | None]:
    """(items, next_page_token) of a page read within the JSON limits."""
    try:
        page = jsondoc.loads(body.decode("utf-8"), request, what="a JSON page")
        items, token = page["items"], page["next_page_token"]
        if not isinstance(items, list) or not isinstance(token, (str, type(None))):
            raise TypeError("'items' must be a list and 'next_page_token' a string or null")
    except RejectedObject as err:
        raise PullRejected(f"malformed page: {err.reason} — {request}") from None
    except (UnicodeDecodeError, KeyError, TypeError) as err:
        raise PullRejected(f"malformed page: {type(err).__name__}: {err} — {request}") from None
    return items, token


def _describe(params: dict) -> str:
    return "&".join(f"{k}={_short(str(v))}" for k, v in params.items())


def _short(text: str) -> str:
    return text if len(text) <= 60 else f"{text[:40]}…({len(text):,} characters)"


def _get(session, url: str, params: dict, request: str, policy: RetryPolicy, sleep,
         bounds: _Bounds) -> bytes:
    import requests
    import urllib3

    for attempt in range(1, policy.attempts + 1):
        wait = None
        try:
            with session.get(url, params=params, timeout=policy.timeout_s, stream=True) as response:
                status = response.status_code
                if status == 200:
                    return _body(response, request, bounds)
                if status in (401, 403):
                    raise RegistryApiError(
                        f"registry API refused the token ({status}): check the password (bearer"
                        f" token) of connection htx_registry_api — {request}")
                if status == 429:
                    wait = _retry_after(response.headers.get("Retry-After"), policy)
                    problem = f"429 Too Many Requests (Retry-After {wait:g}s)"
                elif status >= 500:
                    problem = f"{status} server error"
                else:
                    text = response.raw.read1(1024).decode("utf-8", "replace")
                    raise RegistryApiError(f"registry API answered {status}: {text[:200]} — "
                                           f"{request}")
        except (requests.ConnectionError, requests.Timeout,
                requests.exceptions.ChunkedEncodingError, urllib3.exceptions.HTTPError,
                OSError, _SlowPage) as err:
            # A connection broken mid-body (a page cut short) or a page too slow to arrive is as
            # transient as a reset before the answer, and retried the same way.
            problem = f"{type(err).__name__}: {err}"
        if attempt == policy.attempts:
            raise RegistryApiUnreachable(
                f"registry API still failing after {attempt} attempts: {problem} — {request}")
        if wait is None:
            wait = min(policy.max_delay_s, policy.base_delay_s * 2 ** (attempt - 1))
            wait *= random.uniform(0.5, 1.0)
        log.warning("registry API: %s; retry %d/%d in %.1fs", problem, attempt,
                    policy.attempts - 1, wait)
        sleep(wait)
    raise AssertionError("unreachable")


def _body(response, request: str, bounds: _Bounds) -> bytes:
    """The page's body, never more than the JSON limit, read within the page's read time (each
    read returns what has arrived, so a body dripping in is cut at its deadline)."""
    limit = bounds.page_bytes
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise PullRejected(f"a page of {int(declared):,} bytes, beyond the limit of "
                           f"{limits.JSON_BYTES.named(limit)} — {request}")
    body, deadline = bytearray(), time.monotonic() + bounds.page_seconds
    while chunk := response.raw.read1(READ_BYTES, decode_content=True):
        body += chunk
        if len(body) > limit:
            raise PullRejected(f"a page larger than the limit of {limits.JSON_BYTES.named(limit)}"
                               f" — {request}")
        if time.monotonic() > deadline:
            raise _SlowPage(f"the page was still arriving after "
                            f"{limits.API_PAGE_SECONDS.named(bounds.page_seconds)}")
    return bytes(body)


def _retry_after(header: str | None, policy: RetryPolicy) -> float:
    try:
        seconds = float(header)
    except (TypeError, ValueError):
        seconds = policy.base_delay_s
    return max(0.0, min(seconds, policy.max_retry_after_s))
