"""The reactor's view of the market: the latest reference price per asset and its age.

Fed from ``norm.reference_price`` (``unrip.reactor.price_feed``) or, as an explicit
paper/test option, from the strategy's static prices (which never age). A price older than
its asset's bound (``Strategy.max_price_age_s``) is not a price: the decision skips with
``stale_price`` rather than quote from it (fail closed).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from unrip.reactor.strategy import AssetPrice, Strategy

# Static prices never age: observed at the end of time.
_NEVER_STALE = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class LatestPrice:
    price: AssetPrice
    observed_at: datetime


class PriceBook:
    """The latest price per asset id. Bounded: one entry per asset the venue lists."""

    def __init__(self) -> None:
        self._latest: dict[str, LatestPrice] = {}
        self.static = False

    @classmethod
    def from_strategy(cls, strategy: Strategy) -> PriceBook:
        """The strategy's static prices (``prices.source: static``), never stale."""
        book = cls()
        book.static = True
        for asset_id, config in strategy.assets.items():
            if config.price is not None:
                book._latest[asset_id] = LatestPrice(config.price, _NEVER_STALE)
        return book

    def update(self, asset_id: str, price: AssetPrice, observed_at: datetime) -> bool:
        """Record an observation; an older one than we hold is ignored (False)."""
        held = self._latest.get(asset_id)
        if held is not None and held.observed_at > observed_at:
            return False
        if held is not None and held.price == price:
            price = held.price  # keep the instance: the pricing caches are keyed by it
        self._latest[asset_id] = LatestPrice(price, observed_at)
        return True

    def get(self, asset_id: str) -> LatestPrice | None:
        return self._latest.get(asset_id)

    def usd(self, asset_id: str) -> AssetPrice | None:
        latest = self._latest.get(asset_id)
        return None if latest is None else latest.price

    def __iter__(self) -> Iterator[tuple[str, LatestPrice]]:
        return iter(self._latest.items())

    def __len__(self) -> int:
        return len(self._latest)
