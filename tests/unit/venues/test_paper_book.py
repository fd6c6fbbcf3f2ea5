"""The paper venue's book: at most one execution per client order id, every attempt logged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from unrip.venues.base import OrderStatus, VenueOrder
from unrip.venues.paper.book import PaperBook

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def order(cid: str, deadline: datetime | None = None) -> VenueOrder:
    return VenueOrder(
        client_order_id=cid,
        command_id=f"cmd-{cid}",
        quote_id=f"q-{cid}",
        asset_in="a",
        asset_out="b",
        amount_in=100,
        amount_out=200,
        deadline=deadline or NOW + timedelta(seconds=5),
        quote_validity_ms=0,
    )


def test_an_order_executes_once_and_a_resubmission_gets_the_original(tmp_path: Path) -> None:
    book = PaperBook(tmp_path / "book.sqlite", fill_probability=1.0)
    [first] = book.submit([order("o1")], NOW)
    [again] = book.submit([order("o1")], NOW + timedelta(seconds=1))
    assert first.status is OrderStatus.FILLED and first.amount_in == 100 and not first.duplicate
    assert again.duplicate and again.executed_at == first.executed_at
    assert book.stats().orders == 1
    assert book.stats().duplicate_submissions == 1
    assert book.submissions_per_order() == {"o1": 2}


def test_lookup_answers_what_happened(tmp_path: Path) -> None:
    book = PaperBook(tmp_path / "book.sqlite", fill_probability=1.0)
    book.submit([order("o1")], NOW)
    found = book.lookup(["o1", "never-sent"])
    assert set(found) == {"o1"}
    assert found["o1"].status is OrderStatus.FILLED


def test_the_book_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "book.sqlite"
    book = PaperBook(path, fill_probability=1.0)
    book.submit([order("o1")], NOW)
    book.close()
    reopened = PaperBook(path, fill_probability=1.0)
    [again] = reopened.submit([order("o1")], NOW)
    assert again.duplicate


def test_late_orders_are_rejected_and_fills_are_deterministic(tmp_path: Path) -> None:
    book = PaperBook(tmp_path / "a.sqlite", fill_probability=0.5)
    [late] = book.submit([order("late", deadline=NOW - timedelta(seconds=1))], NOW)
    assert late.status is OrderStatus.REJECTED and late.amount_in == 0
    ids = [f"o{i}" for i in range(200)]
    outcomes = {o.client_order_id: o.status for o in book.submit([order(i) for i in ids], NOW)}
    other = PaperBook(tmp_path / "b.sqlite", fill_probability=0.5)
    assert outcomes == {
        o.client_order_id: o.status for o in other.submit([order(i) for i in ids], NOW)
    }
    filled = sum(s is OrderStatus.FILLED for s in outcomes.values())
    assert 60 < filled < 140  # roughly the configured probability
    assert all(s in (OrderStatus.FILLED, OrderStatus.NOT_FILLED) for s in outcomes.values())


def test_fill_probability_is_validated(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="fill_probability"):
        PaperBook(tmp_path / "x.sqlite", fill_probability=1.5)
