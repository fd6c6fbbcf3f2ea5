"""The reactor's memory of counted results is bounded, and a result is never counted twice:
not while its id is in the window, and not after its id was evicted (the reservation its
first result released is gone); a late first result still counts through its reservation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from unrip.reactor.positions import Positions, legs
from unrip.reactor.risk import RiskState
from unrip.reactor.settled import SettledWindow

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
A, B = "nep141:a.near", "nep141:b.near"


def _at(s: float) -> datetime:
    return T0 + timedelta(seconds=s)


def test_the_window_never_holds_more_than_its_size_however_many_results_arrive() -> None:
    window = SettledWindow(window_s=10**9, max_keys=500)
    for n in range(20_000):
        assert window.settle(f"c{n}", _at(n * 0.001), pending=True, partition=n % 6)
        assert len(window) <= 500
    assert len(window) == 500 and window.evicted == 19_500


def test_the_window_forgets_ids_older_than_its_time_in_each_partition() -> None:
    window = SettledWindow(window_s=60, max_keys=10_000)
    for n in range(1_000):  # one result a second for 1,000 s
        window.settle(f"c{n}", _at(n), pending=True)
        assert len(window) <= 61
    assert "c999" in window and "c900" not in window


def test_a_copy_within_the_window_is_not_counted_twice() -> None:
    window = SettledWindow(window_s=60, max_keys=100)
    assert window.settle("c1", _at(0), pending=True)
    assert not window.settle("c1", _at(0), pending=False)


def test_a_copy_of_an_evicted_result_is_not_counted_twice() -> None:
    positions = Positions(day=T0.date(), settled=SettledWindow(window_s=60, max_keys=1_000))
    fill = legs(A, 10, B, 4)
    positions.record_command("old", A, 10, B, 4)
    assert positions.record_result("old", filled=fill, at=_at(0))
    for n in range(1, 200):  # later results push "old" out of the window
        positions.record_command(f"c{n}", A, 1, B, 1)
        positions.record_result(f"c{n}", filled=legs(A, 1, B, 1), at=_at(n))
    assert "old" not in positions.settled
    net = dict(positions.net)
    # The executor republishes the stored result (same id, same date), hours later.
    assert not positions.record_result("old", filled=fill, at=_at(0))
    assert dict(positions.net) == net
    assert positions.settled.ignored_past_window == 1


def test_a_copy_evicted_by_size_is_not_counted_twice_either() -> None:
    risk = RiskState(day=T0.date(), settled=SettledWindow(window_s=10**9, max_keys=10))
    for n in range(50):
        risk.record_command(f"d{n}", f"c{n}", Decimal(100))
        risk.record_result(f"c{n}", Decimal(1), _at(n))
    assert len(risk.settled) == 10 and risk.open_exposure_usd == 0
    assert risk.daily_pnl_usd == 50
    for n in range(40):  # every evicted one redelivered
        risk.record_result(f"c{n}", Decimal(1), _at(n))
    assert risk.daily_pnl_usd == 50 and risk.open_exposure_usd == 0


def test_a_late_first_result_past_the_window_still_counts_through_its_reservation() -> None:
    positions = Positions(day=T0.date(), settled=SettledWindow(window_s=60, max_keys=1_000))
    positions.record_command("slow", A, 10, B, 4)  # e.g. reconciled after an executor outage
    for n in range(1, 200):
        positions.record_command(f"c{n}", A, 1, B, 1)
        positions.record_result(f"c{n}", filled=legs(A, 1, B, 1), at=_at(n))
    assert positions.record_result("slow", filled=legs(A, 10, B, 4), at=_at(0))
    assert positions.net[A] == 199 + 10 and positions.reserved_out[B] == 0
    assert not positions.record_result("slow", filled=legs(A, 10, B, 4), at=_at(0))
    assert positions.net[A] == 209


def test_partitions_keep_their_own_horizon_so_a_lagging_one_is_not_cut_off() -> None:
    # A rebuild can read one partition far ahead of another: the lagging one's results are
    # new, not copies, and must count although they are old next to the other partition's.
    window = SettledWindow(window_s=60, max_keys=10_000)
    for n in range(1_000):
        assert window.settle(f"p0-{n}", _at(n), pending=False, partition=0)
    for n in range(1_000):
        assert window.settle(f"p1-{n}", _at(n), pending=False, partition=1)


def test_a_window_without_room_or_time_is_refused() -> None:
    with pytest.raises(ValueError, match="window_s > 0"):
        SettledWindow(window_s=0)
    with pytest.raises(ValueError, match="max_keys >= 1"):
        SettledWindow(max_keys=0)


def test_a_result_the_snapshot_covers_is_not_reported_as_ignored_nor_counted_again() -> None:
    # A restart re-reads covered results a little before its lookback (clock skew): they are
    # in the inventory already, and must not raise the "ignored past the window" alarm.
    settled = SettledWindow(window_s=60, max_keys=1_000)
    positions = Positions(day=T0.date(), settled=settled)
    settled.close_before(_at(600))
    fill = legs(A, 10, B, 4)
    assert positions.record_result("old", filled=fill, at=_at(0), in_inventory=True)
    assert dict(positions.net) == {} and settled.ignored_past_window == 0
    assert not positions.record_result("old", filled=fill, at=_at(0))  # and a copy: no
