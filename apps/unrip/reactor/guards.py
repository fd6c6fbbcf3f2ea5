"""Limits that trip and stop quoting: the daily loss limit and two circuit breakers.

- ``daily_loss``: the UTC day's mark-to-market PnL (``Positions.daily_pnl_usd``) at or below
  minus ``limits.daily_loss_limit_usd`` halts quoting until the next UTC day, or until an
  operator reset (``limits.daily_loss_reset_at`` later than the trip), which restarts the
  loss budget from the PnL at the reset.
- ``losing_fills``: ``circuit_breakers.losing_fills_in_a_row`` fills in a row worth less than
  they cost at the reference prices current when their result arrives pause quoting for
  ``cooldown_s``.
- ``price_jump``: an asset's reference price moving more than ``price_jump_pct`` within
  ``price_jump_window_s`` pauses quoting for ``cooldown_s``.

Every trip returns a ``RiskTripV1`` (the caller publishes it on ``audit.risk_trip``) with the
number that crossed the threshold. Daily-loss trips are rebuilt from that topic on restart
(``restore_trip``), so a restart cannot lift a halt; cooldowns and streaks start afresh.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

from unrip.contracts import RiskLimit, RiskTripV1
from unrip.reactor.strategy import Strategy


@dataclass
class RiskGuard:
    halted_at: datetime | None = None  # daily loss tripped (this UTC day)
    paused_until: datetime | None = None  # a circuit breaker's cooldown
    pause_reason: RiskLimit | None = None
    losing_streak: int = 0
    pnl_baseline_usd: Decimal = Decimal(0)  # moved by an operator reset
    reset_applied: datetime | None = None
    # Per asset, recent (observed_at, usd price), no older than the jump window: bounded.
    recent: dict[str, deque[tuple[datetime, Decimal]]] = field(default_factory=dict)

    def blocked(self, now: datetime) -> tuple[RiskLimit, str] | None:
        """Why quoting is off right now, if it is."""
        if self.halted_at is not None:
            if self.halted_at.date() == now.date():
                return (
                    RiskLimit.DAILY_LOSS,
                    f"daily loss limit tripped at {self.halted_at:%H:%M:%S}",
                )
            self.halted_at = None  # a new UTC day lifts the halt
            self.pnl_baseline_usd = Decimal(0)
        if self.paused_until is not None:
            if now < self.paused_until:
                reason = self.pause_reason.value if self.pause_reason else "circuit breaker"
                return RiskLimit(reason), f"{reason} breaker cools down until {self.paused_until}"
            self.paused_until = None
            self.pause_reason = None
        return None

    def apply_reset(self, strategy: Strategy, daily_pnl_usd: Decimal) -> None:
        """An operator reset in the strategy re-arms a tripped daily loss limit."""
        reset_at = strategy.limits.daily_loss_reset_at
        if reset_at is None or reset_at == self.reset_applied:
            return
        self.reset_applied = reset_at
        if self.halted_at is not None and self.halted_at < reset_at:
            self.halted_at = None
            self.pnl_baseline_usd = daily_pnl_usd

    def check_daily_loss(
        self, strategy: Strategy, daily_pnl_usd: Decimal, now: datetime
    ) -> RiskTripV1 | None:
        limit = strategy.limits.daily_loss_limit_usd
        budget_pnl = daily_pnl_usd - self.pnl_baseline_usd
        if self.halted_at is not None or budget_pnl > -limit:
            return None
        self.halted_at = now
        midnight = datetime.combine(now.date() + timedelta(days=1), time(0), tzinfo=UTC)
        return RiskTripV1(
            limit=RiskLimit.DAILY_LOSS,
            detail=f"UTC-day mark-to-market PnL {budget_pnl:.2f} USD reached -{limit} USD; "
            f"quoting off until {midnight:%Y-%m-%d} 00:00 UTC or an operator reset",
            strategy_id=strategy.strategy_id,
            until=midnight,
            observed=budget_pnl,
            threshold=-limit,
            pnl_usd=daily_pnl_usd,
        )

    def record_fill(
        self, strategy: Strategy, fill_pnl_usd: Decimal, daily_pnl_usd: Decimal, now: datetime
    ) -> RiskTripV1 | None:
        self.losing_streak = self.losing_streak + 1 if fill_pnl_usd < 0 else 0
        breakers = strategy.limits.circuit_breakers
        if self.losing_streak < breakers.losing_fills_in_a_row:
            return None
        streak, self.losing_streak = self.losing_streak, 0
        return self._pause(
            strategy,
            RiskLimit.LOSING_FILLS,
            f"{streak} losing fills in a row (the last worth {fill_pnl_usd:.2f} USD)",
            Decimal(streak),
            Decimal(breakers.losing_fills_in_a_row),
            daily_pnl_usd,
            now,
        )

    def record_price(
        self,
        strategy: Strategy,
        asset_id: str,
        usd_price: Decimal,
        observed_at: datetime,
        daily_pnl_usd: Decimal,
        now: datetime,
    ) -> RiskTripV1 | None:
        breakers = strategy.limits.circuit_breakers
        window = timedelta(seconds=breakers.price_jump_window_s)
        recent = self.recent.setdefault(asset_id, deque())
        while recent and observed_at - recent[0][0] > window:
            recent.popleft()
        recent.append((observed_at, usd_price))
        if asset_id not in strategy.assets or now - observed_at > window:
            return None  # not ours, or history read back at start-up: no jump *now*
        moves = [abs(usd_price / p - 1) * 100 for _, p in recent]
        move = max(moves)
        if move <= breakers.price_jump_pct:
            return None
        recent.clear()  # one trip per jump
        return self._pause(
            strategy,
            RiskLimit.PRICE_JUMP,
            f"{asset_id} moved {move:.2f} % within {breakers.price_jump_window_s:g} s "
            f"(to {usd_price} USD)",
            move,
            breakers.price_jump_pct,
            daily_pnl_usd,
            now,
            asset_id=asset_id,
        )

    def restore_trip(self, trip: RiskTripV1, observed_at: datetime, now: datetime) -> None:
        """Re-apply a daily-loss trip read back from ``audit.risk_trip`` at start-up."""
        if trip.limit is RiskLimit.DAILY_LOSS and observed_at.date() == now.date():
            self.halted_at = observed_at

    def _pause(
        self,
        strategy: Strategy,
        limit: RiskLimit,
        detail: str,
        observed: Decimal,
        threshold: Decimal,
        daily_pnl_usd: Decimal,
        now: datetime,
        asset_id: str | None = None,
    ) -> RiskTripV1:
        until = now + timedelta(seconds=strategy.limits.circuit_breakers.cooldown_s)
        self.paused_until = max(until, self.paused_until or until)
        self.pause_reason = limit
        return RiskTripV1(
            limit=limit,
            detail=f"{detail}; quoting paused until {until:%H:%M:%S} UTC",
            strategy_id=strategy.strategy_id,
            until=until,
            observed=observed,
            threshold=threshold,
            pnl_usd=daily_pnl_usd,
            asset_id=asset_id,
        )
