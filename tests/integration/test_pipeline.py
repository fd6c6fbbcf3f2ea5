"""The whole pipeline, every service its own process, on the real broker: a recorded feed in,
counts reconciled exactly from the bus, poison dead-lettered without stopping anything."""

from __future__ import annotations

import json
from pathlib import Path

from unrip.venues.feed import format_line
from unrip_dev.broker import TansuBroker, free_port
from unrip_dev.supervisor import Supervisor, http_json
from unrip_dev.tally import Tally, tally_bus

from tests.integration.helpers import eventually, static_strategy

SAMPLE = Path(__file__).parents[2] / "apps/unrip/venues/near_intents/data/sample_feed.jsonl"


def feed_with_poison(path: Path, quotes: int) -> tuple[int, int]:
    """The first ``quotes`` lines of the sample, with malformed frames spliced in mid-stream."""
    lines = SAMPLE.read_text().splitlines()[:quotes]
    poison = [
        "{this is not json",
        json.dumps({"jsonrpc": "2.0", "method": "event", "params": {"data": {"quote_id": "p-1"}}}),
    ]
    middle = len(lines) // 2
    t_ms = json.loads(lines[middle])["t_ms"]
    spliced = lines[:middle] + [format_line(t_ms, text) for text in poison] + lines[middle:]
    path.write_text("\n".join(spliced) + "\n")
    return len(lines), len(poison)


async def test_feed_to_results_reconciles_exactly(
    broker: TansuBroker, services: Supervisor, tmp_path: Path
) -> None:
    feed = tmp_path / "feed.jsonl"
    feed_with_poison(feed, 300)
    venue = services.spawn_paper_venue(tmp_path / "venue.sqlite")
    for name in ("executor-1", "executor-2"):
        services.spawn_executor(name, venue.url)
    strategy = static_strategy(tmp_path / "strategy.yaml")  # accounting, not prices
    services.spawn(
        "reactor", "reactor", free_port(), {"UNRIP_REACTOR_STRATEGY_FILE": str(strategy)}
    )
    monitor = services.spawn("monitor", "monitor", free_port())
    assert (
        services.wait_ready(["paper-venue", "executor-1", "executor-2", "reactor", "monitor"], 60)
        == []
    )
    services.spawn(
        "ingest",
        "ingest",
        free_port(),
        {
            "UNRIP_INGEST_FEED_PATH": str(feed),
            "UNRIP_INGEST_FEED_PACE": "fast",
            # Generous window: this test is about accounting, not about racing deadlines.
            "UNRIP_NEAR_INTENTS_RESPONSE_WINDOW_MS": "60000",
        },
    )

    async def settled() -> Tally:
        return await tally_bus(broker.bootstrap_servers)

    def complete(t: Tally) -> bool:
        return bool(t.demands) and not t.undecided and not t.without_result and t.raw_events > 250

    tally = await eventually(
        settled, complete, timeout_s=90, what="every demand decided and executed"
    )
    # Let anything still in flight land, then reconcile the final picture.
    tally = await eventually(
        settled, lambda t: complete(t) and t.demands == tally.demands, timeout_s=30
    )
    summary = tally.summary()

    assert summary["lost_demands"] == 0
    assert summary["commands_without_result"] == 0
    assert summary["conflicting_results"] == 0
    assert summary["demands_decided_twice"] == 0
    assert summary["demands"] == summary["commands"] + summary["skips"]
    assert summary["results"] == summary["commands"]
    # Every raw quote event became a demand; the malformed frames (our two plus the sample's
    # own deliberately broken ones) are dead letters with reasons, not demands.
    assert summary["raw_quote_events"] == summary["demands"]
    assert summary["dead_letter_reasons"]["not_json"] >= 1
    assert summary["dead_letters"]["dlq.raw.near_intents.quote"] >= 2
    assert not tally.unreadable
    # The monitor, a separate consumer, agrees with the bus.
    _, stats = http_json(f"{monitor.url}/stats")
    assert stats["demands"] == summary["demands"] and stats["results"] == summary["results"]
    assert stats["latency_ms"]["samples"] == summary["results"]
