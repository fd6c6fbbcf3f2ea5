"""The reactor's restart reads the results after its inventory snapshot, not every retained
one, and still counts each result exactly once: a copy of an old result republished after the
snapshot (the executor answering a redelivered command) does not move the inventory."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from unrip.contracts import TradeResultV1, TradeStatus
from unrip.reactor import snapshot
from unrip.reactor.service import ReactorService, ReactorSettings
from unrip.runtime.kafka import Outgoing
from unrip.topics import EXEC_TRADE_RESULT, STATE_REACTOR
from unrip_dev.broker import TansuBroker
from unrip_dev.supervisor import LOCAL_COMMAND_SIGNING_KEY

from tests.factories import USDT, WNEAR, command, envelope_of
from tests.integration.helpers import publish, static_strategy

NEAR = 10**24


def _results(prefix: str, count: int, at: datetime) -> list[Outgoing]:
    out = []
    for n in range(count):
        cmd = command(f"{prefix}-{n}")
        result = TradeResultV1(
            command_id=cmd.command_id,
            client_order_id=cmd.client_order_id,
            quote_id=cmd.quote_id,
            status=TradeStatus.FILLED,
            asset_in=WNEAR,
            asset_out=USDT,
            amount_in=NEAR,
            amount_out=2_000_000,
            notional_usd=Decimal("2.5"),
            pnl_usd=Decimal("0.5"),
            executed_at=at,
            execution_venue="paper",
            demand_observed_at=at,
            demand_to_outcome_ms=5.0,
        )
        envelope = envelope_of(result, observed_at=at)
        out.append(Outgoing(EXEC_TRADE_RESULT, cmd.command_id, envelope))
    return out


def _reactor(bootstrap: str, strategy: Path, lookback_s: int) -> ReactorService:
    return ReactorService(
        ReactorSettings(
            kafka_bootstrap_servers=bootstrap,
            reactor_strategy_file=strategy,
            command_signing_key=LOCAL_COMMAND_SIGNING_KEY,
            reactor_rebuild_lookback_s=lookback_s,
        )
    )


async def test_a_restart_reads_only_results_after_the_snapshot_and_counts_each_once(
    broker: TansuBroker, tmp_path: Path
) -> None:
    bootstrap = broker.bootstrap_servers
    strategy = static_strategy(tmp_path / "strategy.yaml")
    earlier = datetime.now(UTC) - timedelta(hours=2)
    first = _results("a", 20, earlier)
    for result in first:  # one batch each: Tansu lists a partition's end as its last batch's
        await publish(bootstrap, [result])
    one = _reactor(bootstrap, strategy, lookback_s=3600)
    counts = await one.rebuild(datetime.now(UTC))
    assert counts[EXEC_TRADE_RESULT] == 20  # no snapshot yet: every retained result
    assert one.market.positions.net[WNEAR] == 20 * NEAR
    state = snapshot.state_of("reactor", one.market.positions, one._covered)
    await publish(bootstrap, [Outgoing(STATE_REACTOR, "reactor", envelope_of(state))])

    # An hour later: five new fills, and a copy of an old one republished by the executor.
    later = datetime.now(UTC) + timedelta(hours=1)
    await publish(bootstrap, [*_results("b", 5, later), first[0]])
    two = _reactor(bootstrap, strategy, lookback_s=600)
    counts = await two.rebuild(later + timedelta(seconds=1))
    assert counts[EXEC_TRADE_RESULT] == 6  # the snapshot's 20 are not read again
    assert two.market.positions.net[WNEAR] == 25 * NEAR  # the copy counted nowhere
    assert two.market.positions.settled.ignored_past_window == 1


async def test_results_the_snapshot_covers_are_reread_for_the_lookback_but_not_recounted(
    broker: TansuBroker, tmp_path: Path
) -> None:
    bootstrap = broker.bootstrap_servers
    strategy = static_strategy(tmp_path / "strategy.yaml")
    await publish(bootstrap, _results("a", 10, datetime.now(UTC)))
    one = _reactor(bootstrap, strategy, lookback_s=3600)
    await one.rebuild(datetime.now(UTC))
    state = snapshot.state_of("reactor", one.market.positions, one._covered)
    await publish(bootstrap, [Outgoing(STATE_REACTOR, "reactor", envelope_of(state))])
    await publish(bootstrap, _results("a", 10, datetime.now(UTC)))  # all ten redelivered
    two = _reactor(bootstrap, strategy, lookback_s=3600)
    counts = await two.rebuild(datetime.now(UTC))
    assert counts[EXEC_TRADE_RESULT] == 20  # within the lookback: re-read to refill the window
    assert two.market.positions.net[WNEAR] == 10 * NEAR
