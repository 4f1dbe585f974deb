"""The extractor against the real stand-in server: paging, retries, Retry-After, auth."""
import json

import pytest

from htx.registry_api.client import RegistryApiError, RetryPolicy, fetch_pages
from htx.dev.registry_standin import RegistryStandIn
from htx.settings import RegistryApi

ITEMS = [{"entity_code": f"57{i:08d}", "updated_at": f"2024-0{1 + i % 9}-01T08:00:00+07:00"}
         for i in range(25)]
FAST = RetryPolicy(attempts=4, timeout_s=0.5)


@pytest.fixture
def server():
    standin = RegistryStandIn(ITEMS, "secret-token").start()
    yield standin
    standin.stop()


def pull(server, updated_since=None, page_size=10, token="secret-token", policy=FAST):
    waits: list[float] = []
    pages = list(fetch_pages(RegistryApi(server.base_url, token), updated_since, page_size,
                             policy, sleep=waits.append))
    items = [item for _, body in pages for item in json.loads(body)["items"]]
    return pages, items, waits


def test_pages_are_followed_to_the_end(server):
    pages, items, waits = pull(server)
    assert len(pages) == 3 and len(items) == 25 and waits == []
    assert sorted(i["entity_code"] for i in items) == sorted(i["entity_code"] for i in ITEMS)


def test_updated_since_is_inclusive(server):
    _, items, _ = pull(server, updated_since="2024-09-01T08:00:00+07:00")
    assert {i["updated_at"] for i in items} == {"2024-09-01T08:00:00+07:00"}


def test_429_waits_what_retry_after_says(server):
    server.queue_faults({"status": 429, "retry_after": 7})
    _, items, waits = pull(server)
    assert waits == [7] and len(items) == 25


def test_5xx_timeouts_and_resets_are_retried_with_growing_backoff(server):
    server.queue_faults({"status": 500}, {"reset": True}, {"delay": 1.0})
    _, items, waits = pull(server)
    assert len(items) == 25
    assert len(waits) == 3 and waits[0] <= 1.0 < waits[2] <= 4.0


def test_a_bad_token_fails_at_once_without_retrying(server):
    with pytest.raises(RegistryApiError, match="refused the token"):
        pull(server, token="wrong")
    assert len(server.requests) == 1


def test_giving_up_after_the_last_attempt_names_the_problem(server):
    server.queue_faults(*[{"status": 503}] * 4)
    with pytest.raises(RegistryApiError, match="4 attempts: 503"):
        pull(server)


def test_an_empty_page_with_a_next_token_is_followed(server):
    original = server.page
    # The first answer is an empty page whose token points at the first real page.
    server.page = lambda since, size, token: (
        {"items": [], "next_page_token": _token(0, len(ITEMS))} if token is None
        else original(since, size, token))
    pages, items, _ = pull(server)
    assert json.loads(pages[0][1])["items"] == [] and len(items) == 25


def _token(offset, visible):
    import base64

    return base64.urlsafe_b64encode(json.dumps({"o": offset, "n": visible}).encode()).decode()
