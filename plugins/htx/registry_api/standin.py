"""A local stand-in of the registration API, serving the bundled sample (or any items given).

Same path, paging, bearer token, `updated_since` (inclusive) and error behaviour as the contract.
Faults can be queued (`queue_faults`) to exercise the client: a 429 with `Retry-After`, a 5xx,
a connection reset, a page cut short, padded or dripping in. A hostile paging can be switched
on (`misbehave`): the same token again, a token that grows while the page stays the same, empty
pages without end, or new pages without end. Binds to 127.0.0.1 only.

Run on its own: `python -m htx standin-api --port 8765 < token-file` (the bearer token on standard
input, never on the command line, where `ps` shows it to every local user), serving
`.local/sample/registrations.json`.
"""
from __future__ import annotations

import base64
import json
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from htx.registry_api.client import ENTITIES_PATH


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class RegistryStandIn:
    def __init__(self, items: list[dict], token: str, port: int = 0):
        self.token = token
        self._lock = threading.Lock()
        self._items: list[dict] = []
        self._faults: list[dict] = []
        self.paging: str | None = None
        self.requests: list[str] = []
        self.publish(items)
        handler = type("Handler", (_Handler,), {"standin": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def publish(self, items: list[dict]) -> None:
        """Make more states visible (the source recorded new changes)."""
        with self._lock:
            self._items = sorted(self._items + list(items), key=_order_key)

    def queue_faults(self, *faults: dict) -> None:
        """Answer the next requests with these faults, in order:
        {"status": 429, "retry_after": 1} · {"status": 503} · {"reset": True} ·
        {"delay": seconds} (answers normally, late: a client timeout) ·
        {"cut": True} (a reset mid-page: the headers and half the body, then the socket closes) ·
        {"pad": n} (the page followed by n spaces: still the page, only larger; with
        "unsized": True, sent without a Content-Length, ended by closing the connection) ·
        {"drip": seconds} (the page sent in ten pieces, `seconds` apart)."""
        with self._lock:
            self._faults.extend(faults)

    def misbehave(self, paging: str | None) -> None:
        """Page from now on as a broken or hostile API does (None: as the contract says):
        "same_token" — every page the first one, with the same next_page_token;
        "growing_token" — every page the first one, its token one character longer each time;
        "empty_pages" — empty pages, each with a new next_page_token;
        "endless" — a new one-item page, with a new next_page_token, every time."""
        self.paging = paging

    def start(self) -> "RegistryStandIn":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def _next_fault(self) -> dict | None:
        with self._lock:
            return self._faults.pop(0) if self._faults else None

    def page(self, updated_since: str | None, page_size: int, page_token: str | None) -> dict:
        if self.paging:
            return self._hostile_page(updated_since, page_size, page_token or "")
        return self._contract_page(updated_since, page_size, page_token)

    def _contract_page(self, updated_since: str | None, page_size: int,
                       page_token: str | None) -> dict:
        if page_token:
            state = json.loads(base64.urlsafe_b64decode(page_token.encode()))
            offset, visible = state["o"], state["n"]
        else:
            offset, visible = 0, len(self._items)
        with self._lock:
            snapshot = self._items[:visible]  # pages stay stable while being read
        if updated_since:
            since = _instant(updated_since)
            snapshot = [i for i in snapshot if _instant(i["updated_at"]) >= since]
        chunk = snapshot[offset:offset + page_size]
        more = offset + page_size < len(snapshot)
        token = (base64.urlsafe_b64encode(json.dumps({"o": offset + page_size, "n": visible}).encode())
                 .decode() if more else None)
        return {"items": chunk, "next_page_token": token}

    def _hostile_page(self, updated_since: str | None, page_size: int, token: str) -> dict:
        if self.paging == "endless":
            return {"items": [{"entity_code": f"endless-{len(token) + 1}"}],
                    "next_page_token": token + "n"}
        if self.paging == "empty_pages":
            return {"items": [], "next_page_token": token + "e"}
        first = self._contract_page(updated_since, page_size, None)
        first["next_page_token"] = "same" if self.paging == "same_token" else token + "g"
        return first


def _order_key(item: dict):
    return (_instant(item["updated_at"]) if item.get("updated_at") else datetime.min.astimezone(),
            str(item.get("entity_code")))


class _Handler(BaseHTTPRequestHandler):
    standin: RegistryStandIn

    def log_message(self, *args) -> None:  # keep task logs readable
        pass

    def do_GET(self) -> None:
        url = urlparse(self.path)
        self.standin.requests.append(self.path)
        if url.path != ENTITIES_PATH:
            return self._send(404, {"error": "not found"})
        if self.headers.get("Authorization") != f"Bearer {self.standin.token}":
            return self._send(401, {"error": "invalid token"})
        fault = self.standin._next_fault()
        if fault and fault.get("reset"):
            self.connection.shutdown(2)
            return None
        if fault and "delay" in fault:
            time.sleep(fault["delay"])
            fault = None
        shape = ({key: fault[key] for key in ("cut", "pad", "unsized", "drip") if key in fault}
                 if fault else {})
        if shape:
            fault = None
        if fault:
            headers = {"Retry-After": str(fault["retry_after"])} if "retry_after" in fault else {}
            return self._send(fault["status"], {"error": "injected fault"}, headers)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        try:
            page_size = int(query.get("page_size", 100))
            if not 1 <= page_size <= 1000:
                raise ValueError("page_size must be 1..1000")
            body = self.standin.page(query.get("updated_since"), page_size, query.get("page_token"))
        except (ValueError, KeyError) as err:
            return self._send(400, {"error": str(err)})
        return self._send(200, body, **shape)

    def _send(self, status: int, body: dict, headers: dict | None = None, cut: bool = False,
              pad: int = 0, unsized: bool = False, drip: float = 0) -> None:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8") + b" " * pad
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        if unsized:
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if cut:  # the announced Content-Length is never reached
            self.wfile.write(data[:len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        piece = len(data) // 10 + 1 if drip else len(data)
        try:
            for start in range(0, len(data), piece):
                self.wfile.write(data[start:start + piece])
                self.wfile.flush()
                time.sleep(drip)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True   # the client stopped reading (too slow, too large)
