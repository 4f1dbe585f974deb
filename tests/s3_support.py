"""A real S3 API on 127.0.0.1 for the object-storage landing tests: moto's server mode
(`moto_server`, from requirements-dev.txt), started once per module on a free port.

The landing zone is configured as an operator would: `HTX_LANDING_URL=s3://bucket/prefix`, the
credentials in the Airflow connection named by `HTX_LANDING_CONN_ID` (an `aws` connection whose
extra points `endpoint_url` at the local server) — never in the URL.
"""
from __future__ import annotations

import json
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

BUCKET = "htx-landing"
CONN_ID = "htx_landing_s3"
# moto accepts any key pair: a fresh one per session, so no credential-looking literal exists.
ACCESS_KEY, SECRET_KEY = f"HTXTEST{secrets.token_hex(6).upper()}", secrets.token_urlsafe(24)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with code {process.returncode} before listening on {port}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout_s:.0f} s")


@dataclass
class S3Landing:
    endpoint: str
    prefix: str
    settings: dict[str, str]      # the environment an operator sets (as Airflow reads it)

    @property
    def url(self) -> str:
        return self.settings["HTX_LANDING_URL"]

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)

    def put(self, relative: str, data: bytes) -> None:
        """A source dropping a file into the bucket."""
        self.client().put_object(Bucket=BUCKET, Key=f"{self.prefix}/{relative}", Body=data)

    def upload(self, folder: Path, skip: tuple[str, ...] = ()) -> list[str]:
        """Every file under `folder` dropped at the same relative key, oldest first."""
        dropped = []
        for path in sorted((p for p in folder.rglob("*") if p.is_file()),
                           key=lambda p: (p.stat().st_mtime, str(p))):
            relative = path.relative_to(folder).as_posix()
            if relative not in skip:
                self.put(relative, path.read_bytes())
                dropped.append(relative)
        return dropped

    def delete(self, relative: str) -> None:
        self.client().delete_object(Bucket=BUCKET, Key=f"{self.prefix}/{relative}")

    def keys(self, under: str = "") -> list[str]:
        """Keys below the prefix (relative to it), as the store lists them."""
        pages = self.client().get_paginator("list_objects_v2").paginate(
            Bucket=BUCKET, Prefix=f"{self.prefix}/{under}")
        return sorted(item["Key"][len(self.prefix) + 1:]
                      for page in pages for item in page.get("Contents", []))


@pytest.fixture(scope="module")
def s3_server():
    """moto's S3 API on a free 127.0.0.1 port with the landing bucket created; its endpoint."""
    port = free_port()
    server = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H",
                               "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, server)
        endpoint = f"http://127.0.0.1:{port}"
        S3Landing(endpoint, "", {}).client().create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=30)


def s3_landing_settings(endpoint: str, prefix: str) -> dict[str, str]:
    return {
        "HTX_LANDING_URL": f"s3://{BUCKET}/{prefix}",
        "HTX_LANDING_CONN_ID": CONN_ID,
        f"AIRFLOW_CONN_{CONN_ID.upper()}": json.dumps({
            "conn_type": "aws", "login": ACCESS_KEY, "password": SECRET_KEY,
            "extra": {"endpoint_url": endpoint, "region_name": "us-east-1"}}),
    }


@pytest.fixture
def s3_landing(s3_server, monkeypatch) -> S3Landing:
    """A fresh prefix of the bucket as this test's landing zone (set in the environment)."""
    prefix = f"province-{secrets.token_hex(4)}"
    landing = S3Landing(s3_server, prefix, s3_landing_settings(s3_server, prefix))
    for name, value in landing.settings.items():
        monkeypatch.setenv(name, value)
    return landing
