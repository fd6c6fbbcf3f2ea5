"""The README's main command: `invoke dev` runs the pipeline, reports, and leaves nothing behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


def unrip_processes() -> set[int]:
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if (b"-m" in argv and b"unrip" in argv) or any(a.endswith(b"/tansu") for a in argv):
            found.add(int(entry.name))
    return found


def dev(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "invoke", "dev", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("UNRIP_")},
    )


@pytest.mark.timeout(240)
def test_dev_for_seconds_reports_zero_lost_as_json() -> None:
    before = unrip_processes()
    process = dev("--for", "15", "--json", "--pace", "fast")
    out, err = process.communicate(timeout=200)
    assert process.returncode == 0, err[-3000:]
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["ok"] is True
    assert summary["lost_demands"] == 0 and summary["commands_without_result"] == 0
    assert summary["demands"] == summary["commands"] + summary["skips"] > 500
    assert summary["results"] == summary["commands"]
    assert summary["latency_ms"]["p99"] is not None
    assert unrip_processes() <= before, "invoke dev left processes behind"


@pytest.mark.timeout(240)
def test_ctrl_c_drains_reports_and_leaves_no_process_behind() -> None:
    before = unrip_processes()
    process = dev("--json")
    assert process.stderr is not None
    deadline = time.monotonic() + 120
    for line in process.stderr:  # the orchestrator says when the pipeline is running
        if "pipeline running" in line or time.monotonic() > deadline:
            break
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err[-3000:]
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["ok"] is True and summary["lost_demands"] == 0
    assert unrip_processes() <= before, "Ctrl-C left processes behind"
