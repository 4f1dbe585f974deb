"""Alert channels: e-mail and a webhook, each configured by an Airflow connection, both optional.

| connection          | type | fields                                                              |
| ------------------- | ---- | ------------------------------------------------------------------- |
| `htx_alert_smtp`    | smtp | host, port, login, password; extra `{"from": "…", "to": ["…"], "starttls": true}` |
| `htx_alert_webhook` | http | host = the full URL to POST to; extra = HTTP headers (optional)      |

Neither configured: the alert is logged only. Connections are read when an alert is sent (a
failure), never at DAG parse time. Sending never raises: a broken channel is logged and the
other one still tries, so a notifier error cannot hide the failure it reports. What goes out is
redacted (htx.redaction) and the reason comes first; names are shown on one line (a tab or a
newline in a file name is escaped), so no delivered name can break the e-mail's headers.
"""
from __future__ import annotations

import json
import logging
import os
import smtplib
from dataclasses import asdict, dataclass, field, replace
from email.message import EmailMessage
from urllib.parse import quote

from htx.errors import describe, printable
from htx.redaction import redact, remember

# Function-local imports: Airflow and requests only when an alert is sent (the CLI imports this).

log = logging.getLogger("htx.alerts")

SMTP_CONN_ID = "htx_alert_smtp"
WEBHOOK_CONN_ID = "htx_alert_webhook"
ENV_AIRFLOW_BASE_URL = "HTX_AIRFLOW_BASE_URL"
DEFAULT_AIRFLOW_BASE_URL = "http://127.0.0.1:8080"
SEND_TIMEOUT_S = 20
# An e-mail subject: the reason first, cut to leave room for the files (themselves cut).
SUBJECT_LENGTH = 250
SUBJECT_FILES = 100


@dataclass
class Alert:
    """What an operator needs to act: which feed, which run and task, which batches and files,
    why, and where to look."""
    kind: str  # failed_load | task_failed | late_feed | quarantine_spike | marts_stale
    error: str
    feed: str | None = None
    dag_id: str | None = None
    run_id: str | None = None
    task_id: str | None = None
    batches: list[int] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    details: list[dict] = field(default_factory=list)   # per batch or per late feed
    run_url: str | None = None

    def payload(self) -> dict:
        return asdict(self)

    @property
    def subject(self) -> str:
        what = {"failed_load": "load failed", "late_feed": "feed late",
                "quarantine_spike": "quarantine spike", "marts_stale": "marts stale",
                }.get(self.kind, "task failed")
        head = f"[htx] {what}: {self.feed or self.dag_id or 'htx'}: "
        files = f" ({', '.join(printable(f) for f in self.files)})"[:SUBJECT_FILES] if self.files else ""
        reason, room = self.short_reason, SUBJECT_LENGTH - len(head) - len(files)
        return head + (reason if len(reason) <= room else reason[:room - 1] + "…") + files

    @property
    def short_reason(self) -> str:
        """The reason in one line: a failed batch's own error when there is one (the task's
        message repeats them all), the object it names after ` — ` left out."""
        errors = [d["error"] for d in self.details if d.get("error")]
        reason, dash, about = (errors[0] if errors else self.error).rpartition(" — ")
        text = reason if dash and "/" in about else about
        return " ".join(printable(text).split())

    @property
    def body(self) -> str:
        lines = [self.subject, "", f"reason: {self.error}"]
        for label, value in (("feed", self.feed), ("DAG", self.dag_id), ("run", self.run_id),
                             ("task", self.task_id), ("Airflow", self.run_url)):
            if value:
                lines.append(f"{label}: {value}")
        if self.batches:
            lines.append(f"batches: {', '.join(str(b) for b in self.batches)}")
        if self.files:
            lines.append(f"files: {', '.join(printable(f) for f in self.files)}")
        for detail in self.details:
            lines.append("  - " + "; ".join(f"{k}: {printable(str(v))}" for k, v in detail.items()))
        lines += ["", "What to do: docs/runbook.md; `python -m htx health` and "
                      "SELECT * FROM audit.failed_loads."]
        return "\n".join(lines)


def airflow_base_url() -> str:
    return (os.environ.get(ENV_AIRFLOW_BASE_URL) or DEFAULT_AIRFLOW_BASE_URL).rstrip("/")


def run_url(dag_id: str | None, run_id: str | None, base: str | None = None) -> str | None:
    """The Airflow 3 UI page of one DAG run (the same as SQL's audit.airflow_run_url)."""
    if not dag_id or not run_id:
        return None
    return f"{(base or airflow_base_url()).rstrip('/')}/dags/{quote(dag_id, safe='')}" \
           f"/runs/{quote(run_id, safe='')}"


def send(alert: Alert) -> dict[str, str]:
    """Log the alert and send it on every configured channel; returns each channel's outcome
    ("sent", "not configured" or the error). Never raises."""
    alert = _redacted(alert)
    log.error("ALERT %s", alert.subject + " — " + printable(alert.error))
    outcome = {}
    for name, conn_id, deliver in (("email", SMTP_CONN_ID, _send_email),
                                   ("webhook", WEBHOOK_CONN_ID, _post_webhook)):
        try:
            conn = _connection(conn_id)
            if conn is None:
                outcome[name] = "not configured"
                continue
            deliver(conn, alert)
            outcome[name] = "sent"
        except Exception as err:  # never let a channel hide the failure being reported
            # No traceback: the channel's own error may quote its credentials (redacted here).
            outcome[name] = describe(err)
            log.error("alert not sent by %s: %s (connection %s)", name, outcome[name], conn_id)
    return outcome


def _redacted(alert: Alert) -> Alert:
    def clean(value):
        return redact(value) if isinstance(value, str) else value

    return replace(alert, error=redact(alert.error), files=[clean(f) for f in alert.files],
                   details=[{k: clean(v) for k, v in d.items()} for d in alert.details])


def _connection(conn_id: str):
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = Connection.get(conn_id)
    except AirflowNotFoundException:
        return None
    remember(conn.password)
    return conn


def _send_email(conn, alert: Alert) -> None:
    extra = conn.extra_dejson or {}
    recipients = _as_list(extra.get("to"))
    if not recipients:
        raise ValueError(f"connection {SMTP_CONN_ID!r} has no recipients (extra \"to\")")
    message = EmailMessage()
    message["Subject"] = alert.subject
    message["From"] = extra.get("from") or conn.login or "htx-data@localhost"
    message["To"] = ", ".join(recipients)
    message.set_content(alert.body + "\n\n" + json.dumps(alert.payload(), ensure_ascii=False,
                                                         indent=2, default=str))
    with smtplib.SMTP(conn.host or "127.0.0.1", conn.port or 25, timeout=SEND_TIMEOUT_S) as smtp:
        if _as_bool(extra.get("starttls")):
            smtp.starttls()
        if conn.login:
            smtp.login(conn.login, conn.password or "")
        smtp.send_message(message)


def _post_webhook(conn, alert: Alert) -> None:
    import requests

    url = conn.host or ""
    if "://" not in url:  # a URI-style connection: scheme://host:port/path split into fields
        url = f"{conn.conn_type if conn.conn_type in ('http', 'https') else 'https'}://{url}" + (
            f":{conn.port}" if conn.port else "") + (f"/{conn.schema}" if conn.schema else "")

    headers = {str(k): str(v) for k, v in (conn.extra_dejson or {}).items()}
    remember(*headers.values())  # an Authorization header, a token: secrets all
    response = requests.post(url, data=json.dumps(alert.payload(), ensure_ascii=False,
                                                  default=str).encode("utf-8"),
                             headers={"Content-Type": "application/json; charset=utf-8",
                                      **headers}, timeout=SEND_TIMEOUT_S)
    response.raise_for_status()


def _as_list(value) -> list[str]:
    """`to` as a JSON list, or (from a URI's query string) a JSON text or comma-separated text."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = value.split(",")
    if isinstance(value, str):
        value = [value]
    return [str(v).strip() for v in value or [] if str(v).strip()]


def _as_bool(value) -> bool:
    return value is True or str(value).strip().lower() in ("true", "1", "yes")
