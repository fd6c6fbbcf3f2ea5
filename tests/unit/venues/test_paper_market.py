"""The paper venue's takers: a quote off-market in their favour fills more often, as quoted."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from unrip.venues.base import OrderStatus, VenueOrder
from unrip.venues.feed import format_line
from unrip.venues.paper.book import PaperBook
from unrip.venues.paper.market import PricePath, fill_probability

START = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
WNEAR, USDT = "nep141:wrap.near", "nep141:usdt.tether-token.near"


def path_file(tmp_path: Path) -> Path:
    def tokens(wnear: float) -> str:
        return json.dumps(
            [
                {"assetId": WNEAR, "decimals": 24, "symbol": "wNEAR", "price": wnear},
                {"assetId": USDT, "decimals": 6, "symbol": "USDT", "price": 1.0},
            ]
        )

    # wNEAR at 2.50 for 10 s, then 2.30 for 10 s: the drop takers see coming.
    path = tmp_path / "path.jsonl"
    path.write_text(
        format_line(0, tokens(2.5))
        + format_line(10_000, tokens(2.3))
        + format_line(20_000, tokens(2.3))
    )
    return path


def sells_wnear(cid: str, usdt_per_wnear: float) -> VenueOrder:
    """A taker sells us 100 wNEAR for what our quote gives them."""
    return VenueOrder(
        client_order_id=cid,
        command_id=f"cmd-{cid}",
        quote_id=f"q-{cid}",
        asset_in=WNEAR,
        asset_out=USDT,
        amount_in=100 * 10**24,
        amount_out=int(100 * usdt_per_wnear * 10**6),
        deadline=START + timedelta(minutes=5),
        quote_validity_ms=0,
    )


def test_the_fill_probability_rises_with_the_takers_edge() -> None:
    assert round(fill_probability(-30, base=0.85), 2) == 0.85  # fair at our spread
    assert fill_probability(50, base=0.85) > 0.99
    assert fill_probability(-150, base=0.85) < 0.01


def test_takers_read_the_path_ahead_and_loop_it(tmp_path: Path) -> None:
    market = PricePath(path_file(tmp_path), started_at=START, lead_s=3)
    order = sells_wnear("o", 2.4925)  # our quote at 2.50 less 30 bps
    assert round(market.taker_edge_bps(order, START) or 0) == -30
    # At 8 s the takers already see 2.30 (3 s ahead): our 2.4925 is 837 bps in their favour.
    assert round(market.taker_edge_bps(order, START + timedelta(seconds=8)) or 0) == 837
    # The path loops like the ingest's feed (a pass lasts until its last record's time, 20 s).
    assert round(market.taker_edge_bps(order, START + timedelta(seconds=18)) or 0) == -30


def test_off_market_quotes_fill_more_often_and_at_the_quoted_amounts(tmp_path: Path) -> None:
    market = PricePath(path_file(tmp_path), started_at=START, lead_s=3)
    book = PaperBook(tmp_path / "book.sqlite", fill_probability=0.5, market=market)
    fair = book.submit([sells_wnear(f"fair-{n}", 2.4925) for n in range(200)], START)
    stale_at = START + timedelta(seconds=8)
    stale = book.submit([sells_wnear(f"stale-{n}", 2.4925) for n in range(200)], stale_at)
    filled = [o for o in stale if o.status is OrderStatus.FILLED]
    assert len(filled) == 200 > sum(o.status is OrderStatus.FILLED for o in fair) > 50
    assert {o.amount_out for o in filled} == {249_250_000}
