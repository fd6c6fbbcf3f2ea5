"""The reactor's snapshot round-trips its inventory, never carries one day's PnL into the next,
and sends a rebuild to the start of any results partition it does not cover."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from aiokafka.structs import TopicPartition
from unrip.contracts import ReactorStateV1, decode, encode, make_envelope
from unrip.reactor import snapshot
from unrip.reactor.positions import Positions, legs
from unrip.topics import EXEC_TRADE_RESULT

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
A, B = "nep141:a.near", "nep141:b.near"


def _traded() -> Positions:
    positions = Positions(day=NOW.date())
    positions.record_result("c1", filled=legs(A, 10**30, B, 7), at=NOW)
    return positions


def test_a_snapshot_restores_the_inventory_it_was_taken_from() -> None:
    state = snapshot.state_of("reactor", _traded(), {0: 5, 3: 9})
    envelope = make_envelope(state, venue="reactor", observed_at=NOW)
    value, headers = encode(envelope)
    loaded = decode(value, headers, accept=(ReactorStateV1,)).payload
    restored = Positions(day=NOW.date())
    covered = snapshot.restore(restored, loaded, NOW)
    assert covered == {0: 5, 3: 9}
    assert restored.net == {A: 10**30, B: -7} and restored.day_net == {A: 10**30, B: -7}


def test_a_snapshot_from_yesterday_keeps_the_inventory_but_not_its_days_pnl() -> None:
    state = snapshot.state_of("reactor", _traded(), {})
    restored = Positions(day=NOW.date())
    snapshot.restore(restored, state, NOW + timedelta(days=1))
    assert restored.net == {A: 10**30, B: -7} and restored.day_net == {}
    assert restored.day == (NOW + timedelta(days=1)).date()


def test_a_partition_the_snapshot_does_not_name_is_read_from_its_start() -> None:
    starts = snapshot.start_offsets({2: 40})
    assert starts[TopicPartition(EXEC_TRADE_RESULT, 2)] == 40
    assert starts[TopicPartition(EXEC_TRADE_RESULT, 0)] == 0 and len(starts) == 6
