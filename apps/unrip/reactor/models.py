"""Quoting models: one small typed protocol, loaded by name from the strategy's ``model``.

The service asks ``model_for(strategy)`` for the model and calls its ``decide``; a new model
(an inventory-skewed spread, a learned model served in-process) is a class here and a name in
``unrip.reactor.strategy.MODEL_NAMES``, with no change to the service. Every model must stay
pure and fast (the bench measures ``decide``) and must return a documented ``Skip`` rather than
trade whenever a check of ``unrip.reactor.decision`` fails: the models share those checks and
differ in the spread they quote.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, Protocol

from unrip.contracts import SwapDemandV1
from unrip.reactor.decision import Decision, Market, decide
from unrip.reactor.risk import RiskState
from unrip.reactor.strategy import MODEL_NAMES, Strategy


class QuotingModel(Protocol):
    def decide(
        self,
        demand: SwapDemandV1,
        *,
        venue: str,
        demand_observed_at: datetime,
        strategy: Strategy,
        risk: RiskState,
        market: Market,
        now: datetime,
    ) -> Decision: ...


class SpreadModel:
    """A fixed spread (``spread_bps``) around the reference mid: ``decision.decide``."""

    def decide(
        self,
        demand: SwapDemandV1,
        *,
        venue: str,
        demand_observed_at: datetime,
        strategy: Strategy,
        risk: RiskState,
        market: Market,
        now: datetime,
    ) -> Decision:
        return decide(
            demand,
            venue=venue,
            demand_observed_at=demand_observed_at,
            strategy=strategy,
            risk=risk,
            market=market,
            now=now,
        )


class InventorySkewModel:
    """The spread leans against inventory: cheaper to bring us back to the start balances.

    ``skew`` in [-1, 1] per asset is how far its inventory is from its start balance, as a
    share of the room to its limit (``max_position`` above, ``min_inventory`` below). A demand
    that gives us an asset we are long (skew > 0) or takes one we are short pays more; one
    that unwinds pays less: spread = ``spread_bps`` + ``skew_bps`` x (skew_in - skew_out) / 2,
    never below zero.
    """

    def decide(
        self,
        demand: SwapDemandV1,
        *,
        venue: str,
        demand_observed_at: datetime,
        strategy: Strategy,
        risk: RiskState,
        market: Market,
        now: datetime,
    ) -> Decision:
        lean = (
            _skew(strategy, market, demand.asset_in) - _skew(strategy, market, demand.asset_out)
        ) / 2
        spread = max(0, round(strategy.spread_bps + strategy.skew_bps * lean))
        return decide(
            demand,
            venue=venue,
            demand_observed_at=demand_observed_at,
            strategy=strategy,
            risk=risk,
            market=market,
            now=now,
            spread_bps=spread,
        )


def _skew(strategy: Strategy, market: Market, asset_id: str) -> float:
    config = strategy.assets.get(asset_id)
    if config is None:
        return 0.0
    excess = market.positions.net[asset_id]
    if excess > 0 and config.max_position is not None:
        room = config.max_position - config.start_balance
        return min(excess / room, 1.0) if room > 0 else 1.0
    if excess < 0:
        room = config.start_balance - config.min_inventory
        return max(excess / room, -1.0) if room > 0 else -1.0
    return 0.0


MODELS: Final[dict[str, QuotingModel]] = {
    "spread": SpreadModel(),
    "inventory_skew": InventorySkewModel(),
}
assert set(MODELS) == set(MODEL_NAMES), "a model name without code, or code without a name"


def model_for(strategy: Strategy) -> QuotingModel:
    return MODELS[strategy.model]
