"""The reactor's risk state: open exposure, the UTC day's realised PnL, decided demands.

Rebuilt at start-up from the day's commands, skips and results (so a restart cannot reset the
daily loss limit), and updated idempotently: applying the same command or result twice changes
nothing, which is what makes the rebuild and the live stream safe to overlap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from unrip.reactor.settled import SettledWindow
from unrip.runtime.window import KeyWindow


@dataclass
class RiskState:
    day: date
    open_exposure_usd: Decimal = Decimal(0)
    daily_pnl_usd: Decimal = Decimal(0)
    pending: dict[str, Decimal] = field(default_factory=dict)  # command_id -> notional
    # command_ids with a result: bounded, the pending reservation past the window
    # (unrip.reactor.settled; UNRIP_REACTOR_SETTLED_WINDOW_S / _MAX_KEYS).
    settled: SettledWindow = field(default_factory=SettledWindow)
    # Demand keys (venue:quote_id) decided recently: a bounded window, not the whole day
    # (unrip.runtime.window; UNRIP_REACTOR_DECIDED_WINDOW_S / _MAX_KEYS).
    decided: KeyWindow = field(default_factory=KeyWindow)

    def roll(self, now: datetime) -> None:
        """A new UTC day starts a new loss budget; open exposure carries over."""
        today = now.date()
        if today != self.day:
            self.day = today
            self.daily_pnl_usd = Decimal(0)
            # ``decided`` and ``settled`` are time windows: they span midnight.

    def record_command(self, demand_key: str, command_id: str, notional_usd: Decimal) -> None:
        self.decided.add(demand_key)
        if command_id in self.pending or command_id in self.settled:
            return
        self.pending[command_id] = notional_usd
        self.open_exposure_usd += notional_usd

    def record_skip(self, demand_key: str) -> None:
        self.decided.add(demand_key)

    def record_result(
        self, command_id: str, pnl_usd: Decimal, at: datetime, partition: int = 0
    ) -> None:
        pending = command_id in self.pending
        if not self.settled.settle(command_id, at, pending=pending, partition=partition):
            return
        notional = self.pending.pop(command_id, None)
        if notional is not None:
            self.open_exposure_usd -= notional
        if at.date() == self.day:
            self.daily_pnl_usd += pnl_usd
