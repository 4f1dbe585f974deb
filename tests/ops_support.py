"""Real alert receivers for the operations tests, both on 127.0.0.1: an SMTP server (aiosmtpd)
that requires the configured login, and an HTTP server that records every webhook POST. The
`alert_receivers` fixture starts both and points the htx_alert_smtp / htx_alert_webhook
connections at them."""
from __future__ import annotations

import email
import json
import secrets
import socket
import threading
from dataclasses import dataclass, field
from email import policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

SMTP_LOGIN = "htx-alerts"
MAIL_FROM = "htx-data@example.org"
MAIL_TO = ["ops@example.org", "oncall@example.org"]


@dataclass
class Receivers:
    mails: list = field(default_factory=list)      # email.message.EmailMessage
    posts: list = field(default_factory=list)      # {"path", "headers", "json"}
    token: str = ""                                 # the webhook header the connection sets

    def clear(self) -> None:
        self.mails.clear()
        self.posts.clear()


class _Inbox:
    def __init__(self, received: Receivers):
        self.received = received

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        message["X-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.received.mails.append(message)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _smtp_server(received: Receivers, password: str):
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == SMTP_LOGIN.encode()
              and auth_data.password == password.encode())
        return AuthResult(success=ok)

    controller = Controller(_Inbox(received), hostname="127.0.0.1", port=_free_port(),
                            authenticator=authenticate, auth_required=True,
                            auth_require_tls=False)
    controller.start()
    return controller


def _webhook_server(received: Receivers) -> ThreadingHTTPServer:
    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.posts.append({"path": self.path, "headers": dict(self.headers),
                                   "json": json.loads(body.decode("utf-8"))})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def alert_receivers():
    """Both receivers running, and the alert connections set to them (env-var connections, as
    an operator would set them)."""
    import os

    received = Receivers(token=secrets.token_urlsafe(12))
    password = secrets.token_urlsafe(12)
    smtp = _smtp_server(received, password)
    hook = _webhook_server(received)
    settings = {
        "AIRFLOW_CONN_HTX_ALERT_SMTP": json.dumps({
            "conn_type": "smtp", "host": "127.0.0.1", "port": smtp.port, "login": SMTP_LOGIN,
            "password": password,
            "extra": {"from": MAIL_FROM, "to": MAIL_TO, "starttls": False}}),
        "AIRFLOW_CONN_HTX_ALERT_WEBHOOK": json.dumps({
            "conn_type": "http", "host": f"http://127.0.0.1:{hook.server_port}/htx-alerts",
            "extra": {"X-Htx-Token": received.token}}),
    }
    saved = {k: os.environ.get(k) for k in settings}
    os.environ.update(settings)
    yield received
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    hook.shutdown()
    smtp.stop()
