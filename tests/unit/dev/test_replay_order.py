"""A restore publishes every partition in its original offset order, even where event time
runs backwards inside a partition (results stamped at outcome, published in commit order)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st
from unrip_dev.archive import ArchivedRecord
from unrip_dev.replay import bus_order

T0 = datetime(2026, 11, 28, tzinfo=UTC)


def record(topic: str, partition: int, offset: int, ms: int) -> ArchivedRecord:
    return ArchivedRecord(
        topic=topic,
        partition=partition,
        offset=offset,
        key=None,
        value=f"{topic}/{partition}/{offset}".encode(),
        headers=[],
        at=T0 + timedelta(milliseconds=ms),
    )


def test_a_partition_whose_event_time_runs_backwards_keeps_its_offset_order() -> None:
    # The event-time order read_window returns: offset 1 was stamped before offset 0.
    records = [record("exec.trade_result", 0, 1, 5), record("exec.trade_result", 0, 0, 7)]
    assert [r.offset for r in bus_order(records)] == [0, 1]


@given(
    st.lists(
        st.tuples(st.sampled_from(["a", "b"]), st.integers(0, 2), st.integers(0, 50)),
        max_size=40,
    )
)
def test_every_record_is_published_once_and_each_partition_in_offset_order(
    drawn: list[tuple[str, int, int]],
) -> None:
    offsets: dict[tuple[str, int], int] = {}
    records = []
    for topic, partition, ms in drawn:
        offset = offsets.get((topic, partition), 0)
        offsets[(topic, partition)] = offset + 1
        records.append(record(topic, partition, offset, ms))
    records.sort(key=lambda r: (r.at, r.topic, r.partition, r.offset))  # read_window's order

    published = list(bus_order(records))

    assert sorted(r.value for r in published) == sorted(r.value for r in records)
    for key in offsets:
        run = [r.offset for r in published if (r.topic, r.partition) == key]
        assert run == list(range(offsets[key]))
