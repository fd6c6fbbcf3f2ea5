"""The soak's verdict: memory growth is measured only once a service's windows are full again
after its restart, and a run passes only if nothing was lost or crashed and memory stayed flat."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from unrip_dev.soak import run
from unrip_dev.soak.run import RESTARTS, SoakOptions, _Samples, _Soak, run_soak, verdict


def _report(**services: float | None) -> dict[str, Any]:
    return {
        "lost": 0,
        "crashes": 0,
        "unclean_restarts": [],
        "final_exit_codes": {name: 0 for name in services},
        "restarts": {name: 1 for name, _ in RESTARTS},
        "services": {name: {"rss_growth_pct": growth} for name, growth in services.items()},
    }


def test_growth_is_measured_from_the_first_sample_after_warm_up_and_the_refill() -> None:
    samples = _Samples()
    for n in range(100):  # a window refilling after a restart at 40 s, flat after 80 s
        samples.add("monitor", n / 100, float(n), 100.0 + min(n, 80))
    summary = samples.summary(0.7, {"monitor": 80.0})["monitor"]
    assert summary["rss_mib_start"] == 180.0 and summary["rss_growth_pct"] == 0.0
    assert summary["rss_mib_peak"] == 180.0


def test_every_sample_is_kept_on_disk_for_the_trend(tmp_path: Path) -> None:
    samples = _Samples()
    samples.add("reactor", 0.5, 10.0, 120.5)
    samples.add("reactor", 0.75, 12.0, 121.0)
    samples.write_csv(tmp_path / "rss.csv")
    lines = (tmp_path / "rss.csv").read_text().splitlines()
    assert lines == [
        "service,progress,seconds,rss_mib",
        "reactor,0.5000,10.0,120.5",
        "reactor,0.7500,12.0,121.0",
    ]


def test_a_run_too_short_to_refill_a_window_reports_no_growth_rather_than_a_filling_one() -> None:
    samples = _Samples()
    for n in range(100):
        samples.add("monitor", n / 100, float(n), 100.0 + n)
    assert samples.summary(0.7, {"monitor": 500.0})["monitor"]["rss_growth_pct"] is None


def test_flat_memory_and_nothing_lost_is_a_pass() -> None:
    result = verdict(_report(reactor=2.0, monitor=-1.0, ingest=None), 10.0)
    assert result["ok"] and result["memory_flat"]
    assert result["memory_unmeasured"] == ["ingest"]


def test_growth_over_the_target_fails_the_run_and_names_the_service() -> None:
    result = verdict(_report(reactor=13.0, monitor=1.0), 10.0)
    assert not result["ok"] and result["memory_grown"] == {"reactor": 13.0}


def test_a_lost_demand_or_a_crash_fails_the_run_whatever_the_memory() -> None:
    lost = {**_report(reactor=0.0), "lost": 1}
    crashed = {**_report(reactor=0.0), "crashes": 1}
    assert not verdict(lost, 10.0)["ok"] and not verdict(crashed, 10.0)["ok"]


def test_a_soak_against_an_external_broker_never_starts_the_embedded_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # --bootstrap-servers (a Redpanda for the full-size run) must need no Tansu binary at all.
    def no_tansu(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the embedded broker was started")

    reached: list[str] = []

    async def fake_run(soak: _Soak) -> dict[str, Any]:
        reached.append(soak.bootstrap)
        return {**_report(reactor=1.0), "events": []}

    monkeypatch.setattr(run, "TansuBroker", no_tansu)
    monkeypatch.setattr(_Soak, "run", fake_run)
    report = run_soak(SoakOptions(bootstrap_servers="redpanda:9092", run_dir=tmp_path))
    assert reached == ["redpanda:9092"] and report["ok"]
