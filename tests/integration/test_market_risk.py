"""Prices and risk on the real broker: bus prices reach decisions, stale ones skip, an adverse
path makes PnL negative and trips the daily loss limit, a circuit breaker pauses and resumes."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import yaml
from unrip.contracts import ReferencePriceV1, make_envelope
from unrip.reactor.strategy import DEFAULT_STRATEGY_PATH
from unrip.runtime.kafka import Outgoing
from unrip.topics import (
    AUDIT_REACTOR_SKIP,
    AUDIT_RISK_TRIP,
    CMD_EXECUTE_TRADE,
    EXEC_TRADE_RESULT,
    NORM_REFERENCE_PRICE,
    NORM_SWAP_DEMAND,
    RAW_NEAR_INTENTS_TOKENS,
)
from unrip.venues import registry
from unrip.venues.feed import format_line
from unrip.venues.near_intents.prices import recorded_prices
from unrip_dev.broker import TansuBroker, free_port
from unrip_dev.supervisor import Supervisor
from unrip_dev.venues.near_intents.fake_one_click import FakeOneClick

from tests.factories import USDT, WNEAR, demand, envelope_of
from tests.integration.helpers import envelopes, eventually, publish

USDC = "nep141:17208628f84f5d6ad33f0da3bbbeb27ffcb398eac501a31bd6ad2011e36133a1"
OTHERS = {
    USDT: ("USDT", 6, "1.00"),
    USDC: ("USDC", 6, "1.00"),
    "nep141:eth.omft.near": ("ETH", 18, "3200"),
    "nep141:btc.omft.near": ("BTC", 8, "95000"),
    "nep141:sol.omft.near": ("SOL", 9, "180"),
}


def strategy_file(path: Path, **limits: object) -> Path:
    document = yaml.safe_load(DEFAULT_STRATEGY_PATH.read_text())
    document["limits"].update(limits)
    path.write_text(yaml.safe_dump(document))
    return path


def price(asset_id: str, usd: str, *, at: datetime | None = None) -> Outgoing:
    symbol, decimals, _ = OTHERS.get(asset_id, ("wNEAR", 24, ""))
    payload = ReferencePriceV1(
        asset_id=asset_id, symbol=symbol, decimals=decimals, usd_price=Decimal(usd)
    )
    envelope = make_envelope(payload, venue="near_intents", observed_at=at or datetime.now(UTC))
    return Outgoing(NORM_REFERENCE_PRICE, asset_id, envelope)


def market(wnear: str, *, at: datetime | None = None) -> list[Outgoing]:
    return [price(WNEAR, wnear, at=at)] + [price(a, p[2], at=at) for a, p in OTHERS.items()]


def sells_of_wnear(prefix: str, count: int, near: int = 1000) -> list[Outgoing]:
    """Takers selling us wNEAR for USDT: what an adverse slide in wNEAR brings."""
    deadline = datetime.now(UTC) + timedelta(minutes=5)
    out = []
    for n in range(count):
        d = envelope_of(demand(f"{prefix}-{n}", exact_in=near * 10**24, deadline=deadline))
        out.append(Outgoing(NORM_SWAP_DEMAND, f"near_intents:{prefix}-{n}", d))
    return out


async def decisions(bootstrap: str) -> tuple[dict[str, object], Counter[str]]:
    commands = {e.payload.quote_id: e for e in await envelopes(bootstrap, CMD_EXECUTE_TRADE)}
    skips = Counter(e.payload.reason.value for e in await envelopes(bootstrap, AUDIT_REACTOR_SKIP))
    return commands, skips  # type: ignore[return-value]


def start_reactor(services: Supervisor, strategy: Path) -> None:
    env = {"UNRIP_REACTOR_STRATEGY_FILE": str(strategy)}
    services.spawn("reactor", "reactor", free_port(), env)
    assert services.wait_ready(["reactor"], timeout_s=60) == []


def token_list(wnear: float) -> str:
    return json.dumps(
        [
            {"assetId": WNEAR, "decimals": 24, "symbol": "wNEAR", "price": wnear},
            *(
                {"assetId": a, "decimals": d, "symbol": s, "price": float(p)}
                for a, (s, d, p) in OTHERS.items()
            ),
        ]
    )


async def test_prices_from_the_price_ingest_reach_the_reactors_decisions(
    broker: TansuBroker, services: Supervisor, tmp_path: Path
) -> None:
    bootstrap = broker.bootstrap_servers
    feed = tmp_path / "prices.jsonl"
    feed.write_text(format_line(0, token_list(2.0)) + format_line(10, token_list(2.0)))
    services.spawn(
        "ingest-prices",
        "ingest",
        free_port(),
        {
            "UNRIP_INGEST_STREAM": "prices",
            "UNRIP_INGEST_FEED_PATH": str(feed),
            "UNRIP_INGEST_FEED_PACE": "fast",
        },
    )
    # One event per asset: the second, unchanged list publishes nothing (changes only).
    published = await eventually(
        lambda: envelopes(bootstrap, NORM_REFERENCE_PRICE), lambda e: len(e) >= 6
    )
    assert {e.payload.asset_id for e in published} == {WNEAR, *OTHERS}
    start_reactor(services, strategy_file(tmp_path / "strategy.yaml"))
    await publish(bootstrap, sells_of_wnear("q", 1, near=100))
    commands, _ = await eventually(
        lambda: decisions(bootstrap), lambda d: len(d[0]) == 1, what="a command"
    )
    command = commands["q-0"].payload  # type: ignore[attr-defined]
    # Priced at the bus's 2.00, not the strategy's static 2.50: 100 wNEAR -> 199.4 USDT.
    assert command.pricing.price_in_usd == Decimal("2.0")
    assert command.amount_out == 199_400_000
    assert len(await envelopes(bootstrap, NORM_REFERENCE_PRICE)) == 6


async def test_the_live_price_ingest_polls_the_token_list_and_publishes_changes(
    broker: TansuBroker, services: Supervisor
) -> None:
    bootstrap = broker.bootstrap_servers
    registry.load("near_intents")  # its raw schemas, to read raw.near_intents.tokens here
    with FakeOneClick(recorded_prices("adverse")) as api:
        services.spawn(
            "ingest-prices",
            "ingest",
            free_port(),
            {
                "UNRIP_INGEST_STREAM": "prices",
                "UNRIP_INGEST_SOURCE": "live",
                "UNRIP_NEAR_INTENTS_TOKENS_URL": api.url,
                "UNRIP_NEAR_INTENTS_PRICE_POLL_INTERVAL_S": "0.05",
            },
        )
        assert services.wait_ready(["ingest-prices"], timeout_s=60) == []
        await eventually(
            lambda: envelopes(bootstrap, RAW_NEAR_INTENTS_TOKENS), lambda e: len(e) >= 20
        )
        assert services.children["ingest-prices"].stop(timeout_s=15) == 0
    lists = await envelopes(bootstrap, RAW_NEAR_INTENTS_TOKENS)
    assert lists[0].raw == api.bodies[0] and lists[0].payload.source == "live"
    prices = await envelopes(bootstrap, NORM_REFERENCE_PRICE)
    wnear = [e.payload.usd_price for e in prices if e.payload.asset_id == WNEAR]
    # Changes only: wNEAR moves on every poll of this path, so each poll published it.
    assert len(wnear) >= 20 and len(set(wnear)) == len(wnear)
    # Each price names the token list it came from (lineage from raw to norm).
    assert {e.causation_id for e in prices} <= {e.event_id for e in lists}


async def test_a_demand_priced_from_an_old_price_is_skipped_as_stale(
    broker: TansuBroker, services: Supervisor, tmp_path: Path
) -> None:
    bootstrap = broker.bootstrap_servers
    await publish(bootstrap, market("2.50", at=datetime.now(UTC) - timedelta(seconds=45)))
    start_reactor(services, strategy_file(tmp_path / "strategy.yaml"))
    await publish(bootstrap, sells_of_wnear("old", 1))
    _, skips = await eventually(
        lambda: decisions(bootstrap), lambda d: sum(d[1].values()) == 1, what="a skip"
    )
    assert skips == Counter({"stale_price": 1})
    # A fresh observation: quoting resumes. Prices and demands are separate streams, so the
    # demands keep coming until one meets the new price.
    await publish(bootstrap, market("2.50"))
    commands: dict[str, object] = {}
    for round_ in range(50):
        await publish(bootstrap, sells_of_wnear(f"fresh{round_}", 1))
        expected = round_ + 2

        def decided(d: tuple[dict[str, object], Counter[str]], expected: int = expected) -> bool:
            return len(d[0]) + sum(d[1].values()) >= expected

        commands, skips = await eventually(lambda: decisions(bootstrap), decided, what="one more")
        if commands:
            break
    assert len(commands) == 1 and set(skips) == {"stale_price"}


async def test_an_adverse_path_makes_pnl_negative_trips_the_daily_loss_limit_and_stops_commands(
    broker: TansuBroker, services: Supervisor, tmp_path: Path
) -> None:
    bootstrap = broker.bootstrap_servers
    venue = services.spawn_paper_venue(
        tmp_path / "venue.sqlite", env={"UNRIP_PAPER_FILL_PROBABILITY": "1"}
    )
    services.spawn_executor("executor", venue.url)
    assert services.wait_ready(["paper-venue", "executor"], timeout_s=60) == []
    await publish(bootstrap, market("2.50"))
    # The slide below is faster than a real one: the jump breaker is set aside for this test.
    limits = {"daily_loss_limit_usd": "1000", "circuit_breakers": {"price_jump_pct": "50"}}
    start_reactor(services, strategy_file(tmp_path / "strategy.yaml", **limits))
    # Takers sell us 10 x 1,000 wNEAR at 2.50 (less our 30 bps): all filled.
    await publish(bootstrap, sells_of_wnear("buy", 10))
    await eventually(
        lambda: envelopes(bootstrap, EXEC_TRADE_RESULT), lambda r: len(r) == 10, what="10 fills"
    )
    # The slide: wNEAR to 2.25 in 2 % steps.
    for step in ("2.45", "2.40", "2.35", "2.30", "2.25"):
        await publish(bootstrap, market(step))
    trips = await eventually(
        lambda: envelopes(bootstrap, AUDIT_RISK_TRIP), lambda t: len(t) >= 1, what="a trip"
    )
    (trip,) = [t.payload for t in trips]
    assert trip.limit.value == "daily_loss"
    # 10,000 wNEAR bought for ~24,925 USDT, now worth ~22,500: about -2,425 USD, below -1,000.
    assert trip.pnl_usd < Decimal(-1000) and trip.threshold == Decimal(-1000)
    await publish(bootstrap, sells_of_wnear("after", 5, near=10))
    commands, skips = await eventually(
        lambda: decisions(bootstrap), lambda d: sum(d[1].values()) == 5, what="5 skips"
    )
    assert skips == Counter({"daily_loss_limit": 5})
    assert len(commands) == 10  # nothing after the trip
    assert all(e.observed_at < trips[0].observed_at for e in commands.values())  # type: ignore[attr-defined]


async def test_a_price_jump_pauses_quoting_for_the_cooldown_then_it_resumes(
    broker: TansuBroker, services: Supervisor, tmp_path: Path
) -> None:
    bootstrap = broker.bootstrap_servers
    await publish(bootstrap, market("2.50"))
    breakers = {"price_jump_pct": "3", "price_jump_window_s": 10, "cooldown_s": 2}
    start_reactor(services, strategy_file(tmp_path / "s.yaml", circuit_breakers=breakers))
    await publish(bootstrap, [price(WNEAR, "2.30")])  # -8 % at once
    trips = await eventually(
        lambda: envelopes(bootstrap, AUDIT_RISK_TRIP), lambda t: len(t) == 1, what="a trip"
    )
    assert trips[0].payload.limit.value == "price_jump" and trips[0].payload.asset_id == WNEAR
    await publish(bootstrap, sells_of_wnear("paused", 1, near=10))
    _, skips = await eventually(
        lambda: decisions(bootstrap), lambda d: sum(d[1].values()) == 1, what="a skip"
    )
    assert skips == Counter({"circuit_breaker": 1})
    # Demands keep coming; once the 2 s cooldown is over, they trade again.
    commands: dict[str, object] = {}
    for round_ in range(100):
        await publish(bootstrap, sells_of_wnear(f"later{round_}", 1, near=10))
        expected = round_ + 2

        def decided(d: tuple[dict[str, object], Counter[str]], expected: int = expected) -> bool:
            return len(d[0]) + sum(d[1].values()) >= expected

        commands, skips = await eventually(lambda: decisions(bootstrap), decided, what="one more")
        if commands:
            break
    assert commands and skips["circuit_breaker"] >= 1
    assert set(skips) == {"circuit_breaker"}
