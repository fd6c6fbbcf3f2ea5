"""The reactor as a process: decisions on the bus, live strategy edits, state across restarts."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

from unrip.reactor.strategy import DEFAULT_STRATEGY_PATH
from unrip.runtime.kafka import Outgoing
from unrip.topics import AUDIT_REACTOR_SKIP, CMD_EXECUTE_TRADE, NORM_SWAP_DEMAND, dlq_topic
from unrip_dev.broker import TansuBroker, free_port
from unrip_dev.supervisor import Supervisor

from tests.factories import demand, envelope_of
from tests.integration.helpers import (
    envelopes,
    eventually,
    publish,
    publish_raw,
    static_strategy,
)


def demands(prefix: str, count: int, near: int = 100) -> list[Outgoing]:
    deadline = datetime.now(UTC) + timedelta(minutes=5)
    out = []
    for n in range(count):
        d = envelope_of(demand(f"{prefix}-{n}", exact_in=near * 10**24, deadline=deadline))
        out.append(Outgoing(NORM_SWAP_DEMAND, f"near_intents:{prefix}-{n}", d))
    return out


async def decisions(bootstrap: str) -> tuple[list[str], Counter[str]]:
    commands = [e.payload.quote_id for e in await envelopes(bootstrap, CMD_EXECUTE_TRADE)]
    skips = Counter(e.payload.reason.value for e in await envelopes(bootstrap, AUDIT_REACTOR_SKIP))
    return commands, skips


def start_reactor(services: Supervisor, strategy: Path) -> None:
    services.spawn(
        "reactor", "reactor", free_port(), {"UNRIP_REACTOR_STRATEGY_FILE": str(strategy)}
    )
    assert services.wait_ready(["reactor"], timeout_s=60) == []


async def test_open_exposure_and_decisions_survive_a_restart(
    broker: TansuBroker, services: Supervisor, tmp_path: Path
) -> None:
    bootstrap = broker.bootstrap_servers
    strategy = tmp_path / "strategy.yaml"
    # 100 wNEAR at 2.50 = ~249 USD a trade; room for four trades of open exposure.
    static_strategy(
        strategy,
        DEFAULT_STRATEGY_PATH.read_text().replace(
            'max_open_exposure_usd: "250000"', 'max_open_exposure_usd: "1000"'
        ),
    )
    start_reactor(services, strategy)
    await publish(bootstrap, demands("a", 3))
    await eventually(lambda: decisions(bootstrap), lambda d: len(d[0]) == 3, what="3 commands")

    assert services.children["reactor"].stop(timeout_s=15) == 0
    start_reactor(services, strategy)
    # The same demands again (a replay) and three new ones: the replay decides nothing anew,
    # and the rebuilt exposure (~747 USD without results) leaves room for exactly one more.
    await publish(bootstrap, demands("a", 3) + demands("b", 3))
    commands, skips = await eventually(
        lambda: decisions(bootstrap),
        lambda d: len(d[0]) + sum(d[1].values()) >= 6,
        what="6 decisions",
    )
    # Which "b" gets the last slot depends on partition order; how many does not.
    assert sorted(commands)[:3] == ["a-0", "a-1", "a-2"] and len(commands) == 4
    assert sorted(commands)[3] in {"b-0", "b-1", "b-2"}
    assert skips == Counter({"max_open_exposure": 2})


async def test_kill_switch_edit_takes_effect_without_restart(
    broker: TansuBroker, services: Supervisor, tmp_path: Path
) -> None:
    bootstrap = broker.bootstrap_servers
    strategy = static_strategy(tmp_path / "strategy.yaml")
    start_reactor(services, strategy)
    await publish(bootstrap, demands("before", 2))
    await eventually(lambda: decisions(bootstrap), lambda d: len(d[0]) == 2, what="2 commands")

    edited_at = datetime.now(UTC)
    strategy.write_text(strategy.read_text().replace("kill_switch: false", "kill_switch: true"))
    pid_before = services.children["reactor"].process.pid  # type: ignore[union-attr]
    # Demands keep arriving; once the edit is seen (polled every second) they are all skipped.
    skips = Counter[str]()
    for round_ in range(30):
        await publish(bootstrap, demands(f"after{round_}", 1))
        expected = 3 + round_

        def decided(d: tuple[list[str], Counter[str]], expected: int = expected) -> bool:
            return len(d[0]) + sum(d[1].values()) >= expected

        _, skips = await eventually(lambda: decisions(bootstrap), decided, what="a decision")
        if skips["kill_switch"]:
            break
    assert skips["kill_switch"] == 1
    assert services.children["reactor"].process.pid == pid_before  # type: ignore[union-attr]
    # No command was decided later than the reload interval (1 s) after the edit, plus slack.
    last_command = max(e.observed_at for e in await envelopes(bootstrap, CMD_EXECUTE_TRADE))
    assert last_command - edited_at < timedelta(seconds=2)


async def test_invalid_demands_are_dead_lettered_and_the_next_is_decided(
    broker: TansuBroker, services: Supervisor, tmp_path: Path
) -> None:
    bootstrap = broker.bootstrap_servers
    start_reactor(services, static_strategy(tmp_path / "strategy.yaml"))
    await publish_raw(
        bootstrap, NORM_SWAP_DEMAND, b'{"event_type": "swap_demand", "schema_version": 1}', key=b"k"
    )
    await publish(bootstrap, demands("ok", 1))
    await eventually(
        lambda: decisions(bootstrap), lambda d: d[0] == ["ok-0"], what="the valid demand's command"
    )
    dead = await eventually(
        lambda: envelopes(bootstrap, dlq_topic(NORM_SWAP_DEMAND)), lambda d: len(d) == 1
    )
    assert dead[0].payload.reason_code == "invalid" and dead[0].payload.consumer == "reactor"
    assert dead[0].payload.source_key == "k"
