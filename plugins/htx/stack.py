"""Airflow's components as separate processes, as docker-compose.yml runs them: the local stack of
`python -m htx up` (LocalExecutor, this machine) and the production topology of
tests/test_topology.py (CeleryExecutor, two workers).

Components started apart must agree on three settings each would otherwise generate for itself:
the execution API's URL (where workers fetch and report their tasks), the JWT secret that signs
task tokens and the API secret key. `shared_settings` gives them to every component (as
docker-compose.yml does from `.env`): with another JWT secret in the scheduler than in the API
server, every task fails with "Invalid auth token".

Log servers: the scheduler (under LocalExecutor) and the triggerer start one on every interface
(0.0.0.0 and [::], ports 8793 and 8794: Airflow hard-codes the host). On one machine the API
server reads task logs from the shared log folder, so the local stack runs both with
`--skip-serve-logs`, and everything it starts listens on 127.0.0.1 only.
"""
from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

# The local stack: what `airflow standalone` runs, less the log servers.
LOCAL_COMPONENTS = {
    "api-server": ["api-server"],
    "scheduler": ["scheduler", "--skip-serve-logs"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer", "--skip-serve-logs"],
}
# Components whose heartbeat the API server's health endpoint reports.
MONITORED = ("metadatabase", "scheduler", "triggerer", "dag_processor")
PROJECT_DAGS = "^htx_"


class StackFailed(RuntimeError):
    """A component exited or the stack did not become healthy in time."""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def popen(argv: list[str], env: dict[str, str] | None = None, secret_input: str | None = None,
          **options) -> subprocess.Popen:
    """A process with nothing on its standard input but `secret_input` (a token), written and
    closed: a command line is visible to every local user (`ps`), a pipe to no one."""
    process = subprocess.Popen(argv, env=env, **options, stdin=(
        subprocess.DEVNULL if secret_input is None else subprocess.PIPE))
    if secret_input is not None:
        process.stdin.write(secret_input.encode("utf-8"))
        process.stdin.close()
    return process


def airflow(*args: str) -> list[str]:
    """The `airflow` command of this interpreter's environment."""
    return [str(Path(sys.executable).parent / "airflow"), *args]


def shared_settings(api_port: int) -> dict[str, str]:
    """What every component of one deployment must share; new secrets for each start."""
    return {
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(api_port),
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{api_port}/execution/",
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(64),
        "AIRFLOW__API__SECRET_KEY": secrets.token_urlsafe(32),
    }


def unpause_project_dags(env: dict[str, str]) -> None:
    """Unpause the project's DAGs already known to the metadata database (those parsed later are
    created unpaused when AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION is False)."""
    done = subprocess.run(airflow("dags", "unpause", "--treat-dag-id-as-regex", "--yes",
                                  PROJECT_DAGS), env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise StackFailed(f"could not unpause the project's DAGs:\n{done.stderr[-2000:]}")


def health(api_url: str) -> dict:
    """The API server's health report, {} while it does not answer."""
    try:
        with urllib.request.urlopen(f"{api_url}/api/v2/monitor/health", timeout=5) as answer:
            return json.load(answer)
    except (OSError, ValueError):
        return {}


class Stack:
    """Started processes, each in its own process group (with its children), stopped together;
    each one's output goes to `<log_dir>/<name>.log`."""

    def __init__(self, log_dir: Path):
        self.log_dir = Path(log_dir)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.processes: dict[str, subprocess.Popen] = {}

    def __enter__(self) -> "Stack":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self, name: str, argv: list[str], env: dict[str, str] | None,
              secret_input: str | None = None) -> subprocess.Popen:
        with open(self.log_dir / f"{name}.log", "ab") as log:
            process = popen(argv, env, secret_input, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
        self.processes[name] = process
        return process

    def check_running(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise StackFailed(f"{name} exited with code {process.returncode}: see "
                                  f"{self.log_dir / f'{name}.log'}")

    def wait_answering(self, api_url: str, timeout_s: float = 300) -> None:
        """Until the API server answers (the components that call it start after)."""
        self.wait_for(lambda: health(api_url), timeout_s, f"no answer from {api_url}")

    def wait_healthy(self, api_url: str, timeout_s: float = 300) -> dict:
        """Until every monitored component heartbeats (or one exits: StackFailed)."""
        def healthy():
            report = health(api_url)
            return report if all(report.get(part, {}).get("status") == "healthy"
                                 for part in MONITORED) else None
        return self.wait_for(healthy, timeout_s, f"{api_url} does not report all of {MONITORED}"
                                                 f" healthy")

    def wait_for(self, condition, timeout_s: float, failure: str):
        """condition()'s first true value, polled while every process runs (else StackFailed)."""
        deadline = time.monotonic() + timeout_s
        while not (found := condition()):
            self.check_running()
            if time.monotonic() > deadline:
                raise StackFailed(f"{failure} after {timeout_s:.0f} s; logs in {self.log_dir}")
            time.sleep(1)
        return found

    def wait(self) -> None:
        """Until a component exits (StackFailed) or an interrupt (KeyboardInterrupt)."""
        while True:
            self.check_running()
            time.sleep(1)

    def stop(self, timeout_s: float = 30) -> None:
        for process in self.processes.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(process, signal.SIGKILL)
                process.wait()
        for process in self.processes.values():   # children left behind by a stopped parent
            _signal_group(process, signal.SIGKILL)
        self.processes.clear()


def run_until_stopped(log_dir: Path, start) -> None:
    """A Stack, `start(stack)`, then running until one of its components exits (StackFailed) or
    Ctrl-C (SIGINT) or SIGTERM (a supervisor's stop: systemd, `kill`) arrives, while starting
    too; every component is stopped on the way out. SIGINT is set again because a background
    job of a script or CI runner inherits it ignored, and Python keeps that."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        with Stack(log_dir) as running:
            start(running)
            running.wait()
    except KeyboardInterrupt:
        pass


def _interrupt(signum: int, frame) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass
