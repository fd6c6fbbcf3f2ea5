"""Inventory per asset and mark-to-market PnL, from executed results.

Inventory starts at the strategy's ``start_balance`` per asset and moves with every filled
result: we receive ``amount_in`` of ``asset_in`` and give ``amount_out`` of ``asset_out``.
Commands still awaiting their result reserve what they would give (``amount_out``) and count
what they would bring towards the position limit, so a burst of demands cannot oversell.

PnL is the trading's, with the starting balances as the benchmark: each fill is worth its
legs at the reference price current when it is folded, and the inventory it changed is then
marked to the latest price, which together is ``sum over assets of (today's net base units)
x latest price``. The starting inventory's own market move is not trading PnL. Idempotent
like ``RiskState``: a command or result applied twice changes nothing (rebuild and live
stream overlap safely).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from unrip.reactor.market import PriceBook
from unrip.reactor.settled import SettledWindow
from unrip.reactor.strategy import AssetPrice


def usd(amount: int, price: AssetPrice) -> Decimal:
    return Decimal(amount) * price.usd_price / (Decimal(10) ** price.decimals)


@dataclass(frozen=True, slots=True)
class _Legs:
    asset_in: str
    amount_in: int
    asset_out: str
    amount_out: int


@dataclass
class Positions:
    day: date
    # Net base units since the start balances (all time) and within the current UTC day.
    net: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    day_net: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    reserved_out: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    pending_in: defaultdict[str, int] = field(default_factory=lambda: defaultdict(int))
    pending: dict[str, _Legs] = field(default_factory=dict)  # command_id -> legs
    # command_ids with a result: a bounded window per partition, the pending reservation past
    # it (unrip.reactor.settled). Dated by the result, so it spans midnight.
    settled: SettledWindow = field(default_factory=SettledWindow)
    # Derived on every mark(): what the decision reads without touching Decimal sums.
    daily_pnl_usd: Decimal = Decimal(0)
    gross_usd: Decimal = Decimal(0)  # sum over assets of |net| x latest price
    gross_usd_float: float = 0.0

    def roll(self, now: datetime) -> None:
        if now.date() != self.day:
            self.day = now.date()
            self.day_net.clear()

    def record_command(
        self, command_id: str, asset_in: str, amount_in: int, asset_out: str, amount_out: int
    ) -> None:
        if command_id in self.pending or command_id in self.settled:
            return
        self.pending[command_id] = _Legs(asset_in, amount_in, asset_out, amount_out)
        self.reserved_out[asset_out] += amount_out
        self.pending_in[asset_in] += amount_in

    def record_result(
        self,
        command_id: str,
        *,
        filled: _Legs | None,
        at: datetime,
        partition: int = 0,
        in_inventory: bool = False,
    ) -> bool:
        """Release the command's reservation and apply its fill; False if already applied.

        ``in_inventory``: the fill is already in ``net`` and ``day_net`` (a result the loaded
        snapshot covers); it only releases the reservation and is remembered as settled.
        Known to have counted, it is never "past the window without a reservation".
        """
        pending = command_id in self.pending or in_inventory
        if not self.settled.settle(command_id, at, pending=pending, partition=partition):
            return False
        legs = self.pending.pop(command_id, None)
        if legs is not None:
            self.reserved_out[legs.asset_out] -= legs.amount_out
            self.pending_in[legs.asset_in] -= legs.amount_in
        if filled is None or in_inventory:
            return True
        self.net[filled.asset_in] += filled.amount_in
        self.net[filled.asset_out] -= filled.amount_out
        if at.date() == self.day:
            self.day_net[filled.asset_in] += filled.amount_in
            self.day_net[filled.asset_out] -= filled.amount_out
        return True

    def mark(self, prices: PriceBook) -> None:
        """Revalue at the latest prices (an asset without one keeps its last value out)."""
        pnl = Decimal(0)
        gross = Decimal(0)
        for asset_id, amount in self.day_net.items():
            price = prices.usd(asset_id)
            if price is not None and amount:
                pnl += usd(amount, price)
        for asset_id, amount in self.net.items():
            price = prices.usd(asset_id)
            if price is not None and amount:
                gross += abs(usd(amount, price))
        self.daily_pnl_usd = pnl
        self.gross_usd = gross
        self.gross_usd_float = float(gross)


def legs(asset_in: str, amount_in: int, asset_out: str, amount_out: int) -> _Legs:
    return _Legs(asset_in, amount_in, asset_out, amount_out)


def fill_pnl_usd(filled: _Legs, prices: PriceBook) -> Decimal | None:
    """A fill's value at the current reference prices (what we got minus what we gave)."""
    price_in, price_out = prices.usd(filled.asset_in), prices.usd(filled.asset_out)
    if price_in is None or price_out is None:
        return None
    return usd(filled.amount_in, price_in) - usd(filled.amount_out, price_out)
