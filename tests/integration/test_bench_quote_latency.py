"""The bench's quote-latency stage on a short run: every quote answered, measured and accounted.

Not a timed test: it asserts that the figures are there and agree with each other (and with
the samples file), never how fast anything was.
"""

from __future__ import annotations

import asyncio
import csv
from pathlib import Path

import pytest
from unrip_dev.bench.quote_latency import P99_TARGET_MS, time_quote_latency
from unrip_dev.bench.runner import bench_settings, child_env
from unrip_dev.broker import TansuBroker

COMMANDS = 30
WARMUP = 3


@pytest.mark.timeout(120)
def test_a_short_run_reports_p50_and_p99_for_every_quote_it_sent(
    broker: TansuBroker, tmp_path: Path
) -> None:
    settings = bench_settings(broker.bootstrap_servers)

    result = asyncio.run(
        time_quote_latency(
            settings,
            child_env(settings),
            tmp_path,
            "t1",
            COMMANDS,
            warmup=WARMUP,
            timeout_s=60,
        )
    )

    assert result["clean_exit"] is True  # the NEAR executor stopped with exit code 0
    assert (result["answered"], result["missing_on_wire"], result["missing_consumed"]) == (
        COMMANDS,
        0,
        0,
    )
    latency = result["consumed_to_wire_ms"]
    assert latency["samples"] == COMMANDS
    assert 0 < latency["p50"] <= latency["p99"] <= latency["max"]
    published = result["published_to_wire_ms"]
    assert published["samples"] == COMMANDS
    assert result["p99_target_ms"] == P99_TARGET_MS
    assert result["p99_target_met"] == (latency["p99"] <= P99_TARGET_MS)
    assert len(result["load_average"]["before"]) == 3

    with (tmp_path / "quote-latency.csv").open() as samples:
        rows = list(csv.DictReader(samples))
    assert [r["quote_id"] for r in rows] == [
        f"t1-quote-{n}" for n in range(WARMUP, COMMANDS + WARMUP)
    ]
    for row in rows:  # the executor took each command, then its answer reached the relay
        assert row["published"] and float(row["consumed"]) <= float(row["on_wire"])
