"""`up`'s stack stops its components on Ctrl-C and on SIGTERM (a supervisor's stop), also when
started ignoring interrupts, as a background job of a script inherits them (htx.stack). The
whole `make up` is driven in test_bind_localhost.py; here a Stack of one sleeping component."""
import os
import signal
import subprocess
import sys
import time

import pytest

from htx.paths import PLUGINS_DIR

HOLDER = """
import sys
from htx import stack
def start(running):
    print(running.start("sleeper", ["sleep", "600"], None).pid, flush=True)
stack.run_until_stopped(sys.argv[1], start)
print("stopped", flush=True)
"""

def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stack_stops_its_components_on_a_stop_signal(tmp_path, signum):
    env = {**os.environ, "PYTHONPATH": str(PLUGINS_DIR)}
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(tmp_path)], env=env, stdout=subprocess.PIPE, text=True,
        # as a background job of a script: SIGINT ignored from the start
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    try:
        sleeper_pid = int(holder.stdout.readline())
        holder.send_signal(signum)
        out, _ = holder.communicate(timeout=60)
    finally:
        if holder.poll() is None:
            holder.kill()
    assert (holder.returncode, out.strip()) == (0, "stopped")
    deadline = time.monotonic() + 10   # the sleeper is reaped by init once its group is killed
    while _alive(sleeper_pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(sleeper_pid), "the stack's component still runs after the stack stopped"
