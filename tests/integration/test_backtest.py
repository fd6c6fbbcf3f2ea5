"""`invoke dev --archive DIR` then `invoke backtest --archive DIR --json`: the backtest sees
exactly the run's demands, deterministically, through the production decision code."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from unrip_dev.supervisor import env_without_unrip

ROOT = Path(__file__).parents[2]


def invoke(*args: str) -> dict[str, Any]:
    process = subprocess.run(
        [sys.executable, "-m", "invoke", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env_without_unrip(),
        timeout=200,
        check=False,
    )
    assert process.returncode == 0, process.stderr[-3000:]
    summary: dict[str, Any] = json.loads(process.stdout.strip().splitlines()[-1])
    return summary


@pytest.mark.timeout(300)
def test_a_backtest_of_a_dev_runs_archive_sees_every_demand_of_that_run(tmp_path: Path) -> None:
    archive = tmp_path / "archive"
    run = invoke("dev", "--for", "8", "--pace", "fast", "--json", "--archive", str(archive))
    assert run["ok"] is True
    assert run["archive"]["complete"] is True

    wide = tmp_path / "wide.yaml"
    default = ROOT / "apps/unrip/reactor/default_strategy.yaml"
    wide.write_text(
        default.read_text()
        .replace("strategy_id: spread-v1", "strategy_id: wide-v1")
        .replace("spread_bps: 30", "spread_bps: 90")
    )
    out = tmp_path / "report"
    summary = invoke(
        "backtest",
        "--archive",
        str(archive),
        "--strategy",
        str(default),
        "--strategy",
        str(wide),
        "--json",
        "--out",
        str(out),
    )

    assert summary["demands"] == run["demands"]
    assert summary["deterministic"] is True
    # Every demand decided once; every command settled on the paper book. (Counts can differ
    # from the live run's: the backtest settles a trade at its decision, the live pipeline a
    # few milliseconds later, so open-exposure skips differ under a fast feed.)
    assert summary["commands"] + summary["skips"] == summary["demands"]
    assert summary["results"] == summary["commands"]
    first, second = summary["strategies"]
    assert (first["strategy_id"], second["strategy_id"]) == ("spread-v1", "wide-v1")
    page = (out / "report.html").read_text()
    assert "<svg" in page and "wide-v1" in page and "spread-v1" in page
    assert json.loads((out / "summary.json").read_text())["demands"] == run["demands"]
