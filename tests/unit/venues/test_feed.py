"""Feed files: pacing (on a fake clock), exact frames, line errors, looping and recording."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from unrip.venues.feed import (
    FeedFormatError,
    FeedRecorder,
    FileFeed,
    Pace,
    format_line,
)
from unrip.venues.near_intents.source import relabel_quote_id
from unrip.venues.sources import ReceivedMessage

EPOCH = datetime(2026, 3, 1, tzinfo=UTC)


class FakeClock:
    """Monotonic seconds that only move when the feed sleeps or the test says so."""

    def __init__(self) -> None:
        self.t = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.t

    def now(self) -> datetime:
        return EPOCH + timedelta(seconds=self.t)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds
        await asyncio.sleep(0)


def write_feed(path: Path, records: list[tuple[int, str]]) -> Path:
    path.write_text("".join(format_line(t, text) for t, text in records), encoding="utf-8")
    return path


def quote_frame(quote_id: str) -> str:
    data = {"quote_id": quote_id, "exact_amount_in": "5"}
    return json.dumps({"method": "event", "params": {"subscription": "s", "data": data}})


def feed(
    path: Path, clock: FakeClock, pace: Pace = "recorded", *, speed: float = 1.0, loop: bool = False
) -> FileFeed:
    return FileFeed(
        path,
        pace=pace,
        speed=speed,
        loop=loop,
        relabel=relabel_quote_id,  # NEAR Intents' rule, the one the bundled recording uses
        now=clock.now,
        clock=clock.clock,
        sleep=clock.sleep,
    )


async def collect(source: FileFeed, limit: int | None = None) -> list[ReceivedMessage]:
    out: list[ReceivedMessage] = []
    async for message in source:
        out.append(message)
        if limit is not None and len(out) == limit:
            break
    return out


RECORDS = [(0, '{"id":1,"result":"sub"}'), (250, quote_frame("q1")), (1000, "not json at all")]


async def test_recorded_pace_reproduces_the_recorded_timing(tmp_path: Path) -> None:
    clock = FakeClock()
    start = clock.t

    messages = await collect(feed(write_feed(tmp_path / "f.jsonl", RECORDS), clock))

    assert [m.text for m in messages] == [text for _, text in RECORDS]
    offsets = [(m.received_at - EPOCH).total_seconds() - start for m in messages]
    assert offsets == pytest.approx([0.0, 0.25, 1.0])


async def test_speed_divides_the_gaps(tmp_path: Path) -> None:
    clock = FakeClock()
    start = clock.t

    messages = await collect(feed(write_feed(tmp_path / "f.jsonl", RECORDS), clock, speed=4.0))

    offsets = [(m.received_at - EPOCH).total_seconds() - start for m in messages]
    assert offsets == pytest.approx([0.0, 0.0625, 0.25])


async def test_a_slow_consumer_does_not_make_the_schedule_drift(tmp_path: Path) -> None:
    records = [(t, f"frame {t}") for t in range(0, 1000, 100)]  # every 100 ms
    clock = FakeClock()
    start = clock.t
    seen: list[float] = []
    async for message in feed(write_feed(tmp_path / "f.jsonl", records), clock):
        seen.append((message.received_at - EPOCH).total_seconds() - start)
        if len(seen) == 3:
            clock.t += 0.35  # the consumer stalls for 350 ms once

    # Messages due during the stall come out at once; then the original schedule resumes.
    assert seen == pytest.approx([0.0, 0.1, 0.2, 0.55, 0.55, 0.55, 0.6, 0.7, 0.8, 0.9])


async def test_fast_pace_never_waits(tmp_path: Path) -> None:
    clock = FakeClock()
    messages = await collect(feed(write_feed(tmp_path / "f.jsonl", RECORDS), clock, "fast"))
    assert [m.text for m in messages] == [text for _, text in RECORDS]
    assert set(clock.sleeps) == {0}


async def test_frames_are_replayed_byte_for_byte(tmp_path: Path) -> None:
    odd = ['{"a": 1,   "b":"é"}', "  leading spaces", '{"trailing":"\\u00e9"}\t', "[]"]
    clock = FakeClock()
    path = write_feed(tmp_path / "f.jsonl", [(i, text) for i, text in enumerate(odd)])
    assert [m.text for m in await collect(feed(path, clock, "fast"))] == odd


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("{not json\n", "not a JSON object"),
        ('["t_ms", 5]\n', "expected a JSON object"),
        ('{"text": "x"}\n', "t_ms must be"),
        ('{"t_ms": -1, "text": "x"}\n', "t_ms must be"),
        ('{"t_ms": 1.5, "text": "x"}\n', "t_ms must be"),
        ('{"t_ms": 5}\n', "text must be a string"),
        ('{"t_ms": 5, "text": {"method": "event"}}\n', "text must be a string"),
        ('{"t_ms": 5, "text": "x", "extra": 1}\n', "unknown fields"),
        ('{"t_ms": 1, "text": "x"}\n', "goes backwards"),
    ],
)
async def test_a_malformed_line_names_its_line_number(
    tmp_path: Path, line: str, problem: str
) -> None:
    path = tmp_path / "f.jsonl"
    path.write_text(format_line(0, "a") + "\n" + format_line(3, "b") + line, encoding="utf-8")
    received: list[str] = []

    with pytest.raises(FeedFormatError, match=problem) as caught:
        async for message in feed(path, FakeClock(), "fast"):
            received.append(message.text)

    assert caught.value.line_number == 4  # blank line 2 is skipped, not an error
    assert str(caught.value).startswith(f"{path}:4:")
    assert received == ["a", "b"]


async def test_a_line_that_is_not_utf8_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "f.jsonl"
    path.write_bytes(format_line(0, "a").encode() + b'{"t_ms": 1, "text": "\xff"}\n')
    with pytest.raises(FeedFormatError, match="UTF-8") as caught:
        await collect(feed(path, FakeClock(), "fast"))
    assert caught.value.line_number == 2


async def test_loop_repeats_with_fresh_quote_ids_and_continuous_time(tmp_path: Path) -> None:
    records = [(0, '{"id":1,"result":"sub"}'), (400, quote_frame("q1")), (900, "garbage")]
    clock = FakeClock()
    start = clock.t

    messages = await collect(
        feed(write_feed(tmp_path / "f.jsonl", records), clock, loop=True), limit=7
    )

    texts = [m.text for m in messages]
    assert texts[:3] == [text for _, text in records]
    assert texts[3] == records[0][1] and texts[5] == records[2][1]  # no quote id: unchanged
    assert texts[4] == quote_frame("q1#1")
    assert texts[6] == records[0][1]
    offsets = [(m.received_at - EPOCH).total_seconds() - start for m in messages]
    assert offsets == pytest.approx([0.0, 0.4, 0.9, 0.9, 1.3, 1.8, 1.8])


async def test_recorder_output_replays_as_recorded(tmp_path: Path) -> None:
    path = tmp_path / "recorded.jsonl"
    received = [
        ReceivedMessage("first", EPOCH),
        ReceivedMessage('{"method":"event"}', EPOCH + timedelta(milliseconds=120)),
        ReceivedMessage("clock stepped back", EPOCH + timedelta(milliseconds=90)),
    ]
    with FeedRecorder(path) as recorder:
        for message in received:
            recorder.write(message)

    clock = FakeClock()
    start = clock.t
    replayed = await collect(feed(path, clock))

    assert [m.text for m in replayed] == [m.text for m in received]
    offsets = [(m.received_at - EPOCH).total_seconds() - start for m in replayed]
    assert offsets == pytest.approx([0.0, 0.12, 0.12])


def test_speed_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="speed"):
        FileFeed(tmp_path / "f.jsonl", pace="recorded", speed=0)


async def test_feed_is_used_like_the_relay_client(tmp_path: Path) -> None:
    clock = FakeClock()
    path = write_feed(tmp_path / "f.jsonl", RECORDS)
    async with feed(path, clock, "fast") as source:
        texts = [message.text async for message in source]
    assert texts == [text for _, text in RECORDS]


async def test_a_loop_without_a_relabel_rule_repeats_messages_verbatim(tmp_path: Path) -> None:
    records = [(0, quote_frame("q1")), (100, "garbage")]
    path = write_feed(tmp_path / "f.jsonl", records)
    clock = FakeClock()
    source = FileFeed(
        path, pace="fast", loop=True, now=clock.now, clock=clock.clock, sleep=clock.sleep
    )
    messages = await collect(source, limit=4)
    assert [m.text for m in messages] == [text for _, text in records] * 2
