"""The README's main command: `invoke dev` runs the pipeline, reports, and leaves nothing behind."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from unrip_dev.supervisor import env_without_unrip

ROOT = Path(__file__).parents[2]


def processes_of(marker: str) -> set[int]:
    """Processes (the broker, every service) that inherited this run's marker variable."""
    needle = f"DEV_TEST_RUN_MARKER={marker}".encode()
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if needle in environ:
            found.add(int(entry.name))
    return found


def dev(marker: str, *args: str) -> subprocess.Popen[str]:
    env = env_without_unrip()
    # Not an UNRIP_ setting, so the supervisor passes it on to every child it starts.
    env["DEV_TEST_RUN_MARKER"] = marker
    return subprocess.Popen(
        [sys.executable, "-m", "invoke", "dev", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.mark.timeout(240)
def test_dev_for_seconds_reports_zero_lost_as_json_and_draws_the_run(tmp_path: Path) -> None:
    marker = uuid.uuid4().hex
    report = tmp_path / "run.html"
    process = dev(marker, "--for", "15", "--json", "--pace", "fast", "--report", str(report))
    out, err = process.communicate(timeout=200)
    assert process.returncode == 0, err[-3000:]
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["ok"] is True
    assert summary["lost_demands"] == 0 and summary["commands_without_result"] == 0
    assert summary["demands"] == summary["commands"] + summary["skips"] > 500
    assert summary["results"] == summary["commands"]
    assert summary["latency_ms"]["p99"] is not None
    assert processes_of(marker) == set(), "invoke dev left processes behind"
    # The pictures of that run, drawn from the same bus: every result is in the histogram.
    assert summary["report"] == str(report)
    html = report.read_text()
    assert "OK: nothing lost" in html
    histogram = html.split("<h2>End-to-end latency</h2>")[1].split("</svg>")[0]
    assert sum(int(n) for n in re.findall(r": (\d+)</title>", histogram)) == summary["results"]


@pytest.mark.timeout(240)
def test_ctrl_c_drains_reports_and_leaves_no_process_behind() -> None:
    marker = uuid.uuid4().hex
    process = dev(marker, "--json")
    assert process.stderr is not None
    deadline = time.monotonic() + 120
    for line in process.stderr:  # the orchestrator says when the pipeline is running
        if "pipeline running" in line or time.monotonic() > deadline:
            break
    # The detector below sees the run: the broker and all five services carry the marker.
    assert len(processes_of(marker)) >= 6
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err[-3000:]
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["ok"] is True and summary["lost_demands"] == 0
    assert processes_of(marker) == set(), "Ctrl-C left processes behind"


@pytest.mark.timeout(300)
def test_an_adverse_price_path_loses_money_trips_the_daily_loss_limit_and_then_stops() -> None:
    marker = uuid.uuid4().hex
    process = dev(marker, "--prices", "adverse", "--for", "60", "--json")
    out, err = process.communicate(timeout=280)
    assert process.returncode == 0, err[-3000:]
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["ok"] is True and summary["prices"] == "adverse"
    assert summary["pnl_usd"] < 0  # mark-to-market: the inventory takers sold us fell
    assert summary["risk_trips"]["daily_loss"] >= 1
    assert summary["commands_after_daily_loss_trip"] == 0
    assert summary["skip_reasons"]["daily_loss_limit"] > 0


@pytest.mark.timeout(300)
def test_a_calm_price_path_makes_money_and_trips_nothing() -> None:
    marker = uuid.uuid4().hex
    process = dev(marker, "--prices", "calm", "--for", "60", "--json")
    out, err = process.communicate(timeout=280)
    assert process.returncode == 0, err[-3000:]
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["ok"] is True and summary["prices"] == "calm"
    assert summary["pnl_usd"] > 0
    assert summary["risk_trips"] == {} and summary["commands_after_daily_loss_trip"] == 0
    assert "stale_price" not in summary["skip_reasons"]
