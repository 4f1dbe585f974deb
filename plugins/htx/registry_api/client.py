"""Pull pages from the registration API with paging, retries with backoff, and `Retry-After`.

Contract: 401 is a bad token (never retried), 429 carries `Retry-After: <seconds>`, 5xx and
timeouts are transient. Each page's body is yielded exactly as received, for landing untouched.
"""
from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass
from typing import Callable, Iterator

from htx.settings import RegistryApi

log = logging.getLogger(__name__)

ENTITIES_PATH = "/api/v1/entities"


class RegistryApiError(Exception):
    """The API answered in a way retrying cannot fix (auth, bad request, malformed page)."""


class RegistryApiUnreachable(RegistryApiError):
    """Still unreachable or failing after every attempt: the task's own retry may find it back."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6            # per page
    base_delay_s: float = 1.0    # exponential backoff: 1, 2, 4, 8 … seconds, with jitter
    max_delay_s: float = 60.0
    max_retry_after_s: float = 300.0
    timeout_s: float = 30.0


def fetch_pages(api: RegistryApi, updated_since: str | None, page_size: int = 500,
                policy: RetryPolicy = RetryPolicy(),
                sleep: Callable[[float], None] = time.sleep) -> Iterator[tuple[str, bytes]]:
    """Yield (request description, raw body) for every page of one pull."""
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {api.token}"
    params: dict = {"page_size": page_size}
    if updated_since:
        params["updated_since"] = updated_since
    page_token = None
    while True:
        if page_token:
            params["page_token"] = page_token
        body = _get(session, api.base_url + ENTITIES_PATH, dict(params), policy, sleep)
        try:
            page = json.loads(body)
            page_token = page["next_page_token"]
        except (ValueError, KeyError, TypeError) as err:
            raise RegistryApiError(f"malformed page from {ENTITIES_PATH} ({params}): {err}") from None
        yield f"GET {ENTITIES_PATH}?{_describe(params)}", body
        if not page_token:
            return


def _describe(params: dict) -> str:
    return "&".join(f"{k}={v}" for k, v in params.items())


def _get(session, url: str, params: dict, policy: RetryPolicy, sleep) -> bytes:
    import requests

    for attempt in range(1, policy.attempts + 1):
        wait = None
        try:
            response = session.get(url, params=params, timeout=policy.timeout_s)
        except (requests.ConnectionError, requests.Timeout,
                requests.exceptions.ChunkedEncodingError) as err:
            # ChunkedEncodingError: the connection broke mid-body (a page cut short) — as
            # transient as a reset before the answer, and retried the same way.
            problem = f"{type(err).__name__}: {err}"
        else:
            status = response.status_code
            if status == 200:
                return response.content
            if status in (401, 403):
                raise RegistryApiError(
                    f"registry API refused the token ({status}) for {url}: check the "
                    "password (bearer token) of connection htx_registry_api")
            if status == 429:
                wait = _retry_after(response.headers.get("Retry-After"), policy)
                problem = f"429 Too Many Requests (Retry-After {wait:g}s)"
            elif status >= 500:
                problem = f"{status} server error"
            else:
                raise RegistryApiError(f"registry API answered {status} for {url} {params}: "
                                       f"{response.text[:200]}")
        if attempt == policy.attempts:
            raise RegistryApiUnreachable(
                f"registry API still failing after {attempt} attempts: {problem}")
        if wait is None:
            wait = min(policy.max_delay_s, policy.base_delay_s * 2 ** (attempt - 1))
            wait *= random.uniform(0.5, 1.0)
        log.warning("registry API: %s; retry %d/%d in %.1fs", problem, attempt,
                    policy.attempts - 1, wait)
        sleep(wait)
    raise AssertionError("unreachable")


def _retry_after(header: str | None, policy: RetryPolicy) -> float:
    try:
        seconds = float(header)
    except (TypeError, ValueError):
        seconds = policy.base_delay_s
    return max(0.0, min(seconds, policy.max_retry_after_s))
