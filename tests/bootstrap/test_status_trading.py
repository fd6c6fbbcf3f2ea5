"""`invoke status` shows the trading layer from the app pods' /status beside the infrastructure
rows: kill switch and why, exposure and PnL against the loss limit, executors' in-flight work,
dead letters, consumer lag and the venue source. The bodies below have the shape the services
serve (tests/integration/test_observability.py checks the services against the bus)."""

from __future__ import annotations

from typing import Any

from tests.bootstrap.conftest import Workstation


def reactor(*, kill: bool = False, reason: str | None = None, pnl: str = "12.5") -> dict[str, Any]:
    return {
        "service": "reactor",
        "kill_switch": {"on": kill, "forced_by_staleness": False, "reason": reason},
        "risk": {
            "open_exposure_usd": "2500.00",
            "open_commands": 3,
            "daily_pnl_usd": pnl,
            "daily_loss_limit_usd": "5000",
            "daily_loss_limit_tripped": pnl.startswith("-5"),
        },
        "consumer": {"group": "reactor", "lag": {"norm.swap_demand": 4, "exec.trade_result": 0}},
    }


def executor(partitions: list[int], *, oldest: float = 0.4) -> dict[str, Any]:
    return {
        "service": "executor",
        "in_flight": {
            "count": 2,
            "oldest_age_s": oldest,
            "max_age_s": 120.0,
            "overdue": oldest > 120,
        },
        "ledger": {"partitions": partitions, "entries": 75},
        "consumer": {"group": "executor", "lag": {"cmd.execute_trade": 1}},
    }


MONITOR = {
    "service": "monitor",
    "pipeline": {"dead_letters_total": 2, "dead_letters": {"dlq.raw.near_intents.quote": 2}},
    "consumer": {"group": "monitor", "lag": {}},
}
INGEST = {
    "service": "ingest",
    "venue": "near_intents",
    "stream": "quote",
    "source": "live",
    "connected": True,
    "last_message_at": "2026-11-28T19:44:12.757+00:00",
}


def trading_pods(station: Workstation, **reactor_kwargs: Any) -> None:
    station.world.app_pods = {
        "reactor-0": ("reactor", reactor(**reactor_kwargs)),
        "executor-0": ("executor", executor([0, 1, 2])),
        "executor-1": ("executor", executor([3, 4, 5], oldest=301.0)),
        "monitor-0": ("monitor", MONITOR),
        "ingest-0": ("ingest", INGEST),
    }


def row(printed: str, layer: str) -> str:
    return next(line for line in printed.splitlines() if f"│ {layer} " in line)


def test_status_shows_the_trading_layer_beside_the_infrastructure(
    converged: Workstation,
) -> None:
    trading_pods(converged)
    before = list(converged.world.mutations)

    assert converged.status() == 0  # the trading rows inform; they do not fail the status

    printed = converged.printed()
    assert "off: trading" in row(printed, "trading: kill switch")
    risk = row(printed, "trading: exposure and PnL")
    assert "open exposure 2,500.00 USD in 3 commands" in risk
    assert "PnL today 12.50 USD (loss limit 5,000.00 USD)" in risk
    healthy = row(printed, "trading: executor-0")
    assert "│ ok " in healthy and "partitions [0, 1, 2], 2 in flight" in healthy
    overdue = row(printed, "trading: executor-1")
    assert "ATTENTION" in overdue  # its oldest command is past the executor's bound
    assert "oldest 301.0 s of 120.0 s" in overdue
    assert "2 dead letters" in row(printed, "trading: DLQ")
    assert "executor 2, monitor 0, reactor 4" in row(printed, "trading: consumer lag")
    assert "near_intents/quote (live) connected" in row(printed, "trading: venue source")
    assert converged.world.mutations == before


def test_a_kill_switch_is_shown_with_its_reason(converged: Workstation) -> None:
    trading_pods(
        converged,
        kill=True,
        reason="forced on: configmap apps/strategy key strategy.yaml not read for more than 30s",
    )
    converged.status()
    shown = row(converged.printed(), "trading: kill switch")
    assert "ATTENTION" in shown and "ON: forced on: configmap apps/strategy" in shown


def test_a_pod_that_does_not_answer_is_a_row_not_a_failure(converged: Workstation) -> None:
    trading_pods(converged)
    converged.world.app_pods["monitor-0"] = ("monitor", None)
    assert converged.status() == 0
    printed = converged.printed()
    assert "no monitor pod answered /status" in row(printed, "trading: DLQ")
    assert "monitor-0: GET status from pod apps/monitor-0: connection refused" in printed


def test_without_app_pods_the_trading_layer_says_so(converged: Workstation) -> None:
    assert converged.status() == 0
    assert "no running app pod in namespace apps" in row(converged.printed(), "trading")


def test_the_trading_layer_is_not_read_while_the_infrastructure_is_not_converged(
    station: Workstation,
) -> None:
    trading_pods(station)
    assert station.status() == 1
    assert "trading" not in station.printed()
