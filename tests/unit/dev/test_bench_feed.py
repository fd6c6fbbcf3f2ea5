"""Bench feeds: evenly spaced, unique, every frame a demand; the relay's message format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from unrip.venues.feed import FileFeed, parse_line
from unrip.venues.near_intents.normalizer import normalize
from unrip_dev.bench import relay
from unrip_dev.bench.feed import speed_for, write_feed

NOW = datetime(2026, 11, 21, 12, tzinfo=UTC)


def test_feed_frames_are_evenly_spaced_unique_demands(tmp_path: Path) -> None:
    path = write_feed(tmp_path / "feed.jsonl", "b1-r200-", 1500)
    records = [parse_line(line) for line in path.read_text().splitlines()]
    assert [t_ms for t_ms, _ in records] == list(range(1500))
    demands = [
        normalize(text, observed_at=NOW, source="file", response_window_ms=60_000)
        for _, text in records
    ]
    quote_ids = [d.quote_id for d in demands if d is not None]
    assert quote_ids == [f"b1-r200-{n}" for n in range(1500)]
    # No auction window shortens the deadline: a backlog is latency, not expiry.
    assert {d.demand.deadline for d in demands if d} == {NOW + timedelta(seconds=60)}


async def test_the_ingest_replays_a_feed_at_the_requested_rate(tmp_path: Path) -> None:
    path = write_feed(tmp_path / "feed.jsonl", "q-", 5)
    slept: list[float] = []
    clock = [0.0]

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    feed = FileFeed(
        path, pace="recorded", speed=speed_for(250), clock=lambda: clock[0], sleep=sleep
    )
    assert len([m async for m in feed]) == 5
    assert clock[0] == pytest.approx(4 / 250)  # the fifth event is due 4/250 s after the first


def test_relay_messages_keep_their_size_and_carry_each_stamp() -> None:
    value = relay.message(900, step=3, sequence=41, sent_ns=1_000)
    relayed = relay.stamp(relay.stamp(value, relay.SENT + 1, 2_000), relay.SENT + 2, 3_000)
    assert len(value) == len(relayed) == 900
    assert relay.fields(relayed)[:5] == (3, 41, 1_000, 2_000, 3_000)
    assert len(relay.message(10, 0, 0, 0)) == relay.HEADER_BYTES  # never smaller than a header
