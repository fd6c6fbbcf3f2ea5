"""A harness killed outright (SIGKILL: no cleanup runs) takes its embedded broker with it, so
an interrupted soak never leaves a Tansu holding gigabytes of memory on a shared machine."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest

_HARNESS = """
import sys, threading
from unrip_dev.broker import TansuBroker
broker = TansuBroker().start()
print(broker.pid, flush=True)
threading.Event().wait()  # a harness at work, until it is killed
"""


def _exited(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in {"Z", "X"}  # ended; a zombie waits for its new parent to reap it


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_the_broker_dies_when_the_process_that_started_it_is_killed() -> None:
    harness = subprocess.Popen([sys.executable, "-c", _HARNESS], stdout=subprocess.PIPE, text=True)
    broker_pid: int | None = None
    try:
        assert harness.stdout is not None
        broker_pid = int(harness.stdout.readline())
        pidfd = os.pidfd_open(broker_pid)  # readable once the broker has exited
        try:
            assert not _exited(broker_pid)
            harness.send_signal(signal.SIGKILL)
            harness.wait()
            readable, _, _ = select.select([pidfd], [], [], 60)
            assert readable, f"broker {broker_pid} still running after its parent was killed"
        finally:
            os.close(pidfd)
        assert _exited(broker_pid)
    finally:
        if harness.poll() is None:
            harness.kill()
            harness.wait()
        if broker_pid is not None and not _exited(broker_pid):
            os.kill(broker_pid, signal.SIGTERM)  # a failed run leaves nothing behind either
