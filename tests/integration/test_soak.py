"""`invoke soak`, short: hostile input and a restart of each service lose nothing, crash
nothing, and the monitor's counts continue across its restart (the full-size run and its
memory figures are in docs/soak.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
from unrip_dev.soak.hostile import EXPECTED_REASONS
from unrip_dev.soak.run import RESTARTS, SoakOptions, run_soak


@pytest.mark.timeout(600)
def test_a_short_soak_with_hostile_input_and_restarts_loses_and_crashes_nothing(
    tmp_path: Path,
) -> None:
    report = run_soak(
        SoakOptions(
            demands=1500,
            rate_per_s=150,
            feed_len=500,
            bursts=2,
            sample_interval_s=1,
            drain_timeout_s=120,
            run_dir=tmp_path,
        )
    )
    assert report["lost"] == 0 and report["drained"]
    assert report["crashes"] == 0 and not report["unclean_restarts"]
    assert report["restarts"] == {name: 1 for name, _ in RESTARTS}
    assert report["demands"] >= 1500 and report["results"] == report["commands"]
    for topic, reasons in EXPECTED_REASONS.items():
        for reason in reasons:
            assert report["dlq"].get(f"{topic}:{reason}", 0) > 0, (topic, reason)
    assert report["ledger_records_quarantined"] >= 1
    monitor = report["monitor"]
    assert monitor["demands_after_restart"] >= monitor["demands_before_restart"] > 0
    assert all(code == 0 for code in report["final_exit_codes"].values())
    assert set(report["services"]) == {"executor", "ingest", "monitor", "paper-venue", "reactor"}
    assert report["ok"]
