"""Headless Chromium for the tests that render pages (.ci/run installs it when missing).

`OFFLINE` cuts the browser off the network the way a provincial office's intranet is: every
host name fails to resolve and every request that is not to a local file goes to a dead proxy.
`test_data_docs.py` proves the cut holds (a page that needs a CDN does not get it).
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]
OFFLINE = ["--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://127.0.0.1:9",
           "--proxy-bypass-list=<-loopback>"]


def chromium(profile: Path, *arguments: str) -> subprocess.CompletedProcess:
    binary = shutil.which("chromium")
    assert binary, "Chromium is needed (.ci/run installs it)"
    return subprocess.run([binary, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *arguments],
                          capture_output=True, text=True, timeout=180)


def rendered_dom(profile: Path, page: Path) -> str:
    """The page's DOM once its scripts have run, opened from disk with no network."""
    done = chromium(profile, *OFFLINE, "--virtual-time-budget=10000", "--dump-dom",
                    page.as_uri())
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout
