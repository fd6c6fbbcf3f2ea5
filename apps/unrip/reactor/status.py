"""The reactor's part of ``/status``: is it trading, and if not, why; its risk state."""

from __future__ import annotations

from typing import Any

from unrip.reactor.configmap import StrategyConfigMap
from unrip.reactor.risk import RiskState
from unrip.reactor.strategy import Strategy, StrategyFile


def kill_switch(strategy: Strategy, source: StrategyFile | StrategyConfigMap) -> dict[str, Any]:
    """On or off, and the reason an operator acts on (forced by staleness is an outage)."""
    forced = isinstance(source, StrategyConfigMap) and source.stale
    if forced:
        assert isinstance(source, StrategyConfigMap)
        reason = (
            f"forced on: {source.origin} not read for more than {source.max_staleness_s:g}s "
            "(the strategy source is unreachable)"
        )
    elif source.rejected:
        reason = (
            f"forced on: the last edit of the strategy ({origin(source)}) is invalid; "
            "fix it and apply it again"
        )
    elif strategy.limits.kill_switch:
        reason = f"kill_switch: true in the strategy ({origin(source)})"
    else:
        reason = None
    return {"on": strategy.limits.kill_switch, "forced_by_staleness": forced, "reason": reason}


def origin(source: StrategyFile | StrategyConfigMap) -> str:
    return source.origin if isinstance(source, StrategyConfigMap) else f"file {source.path}"


def risk_status(strategy: Strategy, risk: RiskState) -> dict[str, Any]:
    limit = strategy.limits.daily_loss_limit_usd
    return {
        "day": risk.day.isoformat(),
        "open_exposure_usd": format(risk.open_exposure_usd, "f"),
        "open_commands": len(risk.pending),
        "daily_pnl_usd": format(risk.daily_pnl_usd, "f"),
        "daily_loss_limit_usd": format(limit, "f"),
        "daily_loss_limit_tripped": risk.daily_pnl_usd <= -limit,
        "decided_demands_today": len(risk.decided),
    }


def strategy_status(strategy: Strategy, source: StrategyFile | StrategyConfigMap) -> dict[str, Any]:
    return {
        "strategy_id": strategy.strategy_id,
        "source": origin(source),
        "reloads": source.reloads,
        "errors": source.errors,
    }
