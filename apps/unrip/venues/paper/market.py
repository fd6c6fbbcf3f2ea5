"""The paper venue's market: a recorded price path the simulated takers can see ahead.

Takers on a real venue are often better informed than our last reference price: they take
the quotes that are off-market in their favour and leave the others. The paper venue plays
that from a recorded path of 1Click token lists (the recorded-feed format of
``unrip.venues.feed``, bodies of ``GET /v0/tokens``: ``assetId``, ``decimals``, ``price``),
replayed on the wall clock from ``started_at`` (looping, like the ingest's feed) and read
``lead_s`` ahead: what the market will say a moment after our price was taken.

``fill_probability`` maps a taker's edge (how much more the quote gives them than it takes,
at the path's prices, in basis points) to a chance of being taken: a logistic curve that
gives ``base`` at ``centre_bps`` (a fair quote at our usual spread) and rises towards 1 the
more a quote favours the taker.
"""

from __future__ import annotations

import bisect
import json
import math
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from unrip.venues.base import VenueOrder
from unrip.venues.feed import parse_line


@dataclass(frozen=True, slots=True)
class _Point:
    decimals: int
    usd: Decimal


class PricePath:
    """Prices per asset over time, from a recorded token-list feed."""

    def __init__(self, path: Path, *, started_at: datetime, lead_s: float) -> None:
        self.started_at = started_at
        self.lead_s = lead_s
        self._times: list[int] = []
        self._prices: list[dict[str, _Point]] = []
        previous = 0
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            t_ms, text = parse_line(line, previous_ms=previous)
            previous = t_ms
            body = json.loads(text, parse_float=Decimal)
            self._times.append(t_ms)
            self._prices.append(
                {
                    item["assetId"]: _Point(int(item["decimals"]), Decimal(str(item["price"])))
                    for item in body
                    if isinstance(item, dict) and Decimal(str(item.get("price", 0))) > 0
                }
            )
        if not self._times:
            raise ValueError(f"{path}: no prices in the price path")
        self._length_ms = max(self._times[-1], 1)

    def at(self, now: datetime) -> dict[str, _Point]:
        """The prices the path shows ``lead_s`` after ``now`` (looping)."""
        elapsed_ms = int(((now - self.started_at).total_seconds() + self.lead_s) * 1000)
        offset = max(elapsed_ms, 0) % self._length_ms
        index = max(bisect.bisect_right(self._times, offset) - 1, 0)
        return self._prices[index]

    def taker_edge_bps(self, order: VenueOrder, now: datetime) -> float | None:
        """How much more the taker gets than gives, in bps of what they give; None: unpriced."""
        prices = self.at(now)
        given, got = prices.get(order.asset_in), prices.get(order.asset_out)
        if given is None or got is None or order.amount_in <= 0:
            return None
        value_in = Decimal(order.amount_in) * given.usd / Decimal(10) ** given.decimals
        value_out = Decimal(order.amount_out) * got.usd / Decimal(10) ** got.decimals
        if value_in <= 0:
            return None
        return float((value_out - value_in) / value_in * 10_000)


def fill_probability(
    edge_bps: float, *, base: float, centre_bps: float = -30.0, scale_bps: float = 15.0
) -> float:
    """Chance a taker takes a quote with ``edge_bps``: ``base`` at ``centre_bps``, logistic."""
    base = min(max(base, 1e-6), 1 - 1e-6)
    logit = math.log(base / (1 - base)) + (edge_bps - centre_bps) / scale_bps
    return 1 / (1 + math.exp(-max(min(logit, 50.0), -50.0)))
