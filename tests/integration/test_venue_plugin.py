"""A venue is a plug-in: one defined outside the product, in a temporary package, is found by
name and runs through the real ingest, reactor and executor on the broker."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from unrip.contracts import TradeStatus, decode
from unrip.runtime.kafka import ensure_topics
from unrip.topics import EXEC_TRADE_RESULT, CleanupPolicy, TopicSpec, dlq_topic
from unrip.venues import registry
from unrip_dev.broker import TansuBroker, free_port
from unrip_dev.supervisor import Supervisor

from tests.integration.helpers import eventually, records, static_strategy
from tests.throwaway_venue import install_throwaway_venue

RAW_TOPIC = "raw.throwaway.quote"
QUOTES = 5


def topic(name: str) -> TopicSpec:
    return TopicSpec(name, 3, "quote id", 60_000, CleanupPolicy.DELETE, "the throwaway venue's")


async def test_a_venue_defined_outside_the_product_trades_through_the_real_services(
    broker: TansuBroker, services: Supervisor, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    install_throwaway_venue(site)
    monkeypatch.syspath_prepend(str(site))
    assert registry.available()["throwaway"] == "throwaway_venue.plugin:PLUGIN"
    plugin = registry.load("throwaway")  # registers its raw schema here, to read the topic
    await ensure_topics(broker.bootstrap_servers, [topic(RAW_TOPIC), topic(dlq_topic(RAW_TOPIC))])

    env = {"PYTHONPATH": str(site), "THROWAWAY_QUOTES": str(QUOTES)}
    strategy = static_strategy(tmp_path / "strategy.yaml")
    services.spawn(
        "reactor", "reactor", free_port(), {**env, "UNRIP_REACTOR_STRATEGY_FILE": str(strategy)}
    )
    services.spawn(
        "executor", "executor", free_port(), {**env, "UNRIP_EXECUTOR_VENUE": "throwaway"}
    )
    assert await asyncio.to_thread(services.wait_ready, ["reactor", "executor"], 60) == []
    ingest_env = {**env, "UNRIP_INGEST_VENUE": "throwaway", "UNRIP_INGEST_SOURCE": "live"}
    services.spawn("ingest", "ingest", free_port(), ingest_env)
    assert await asyncio.to_thread(services.wait_ready, ["ingest"], 60) == []

    results = await eventually(
        lambda: records(broker.bootstrap_servers, EXEC_TRADE_RESULT),
        lambda found: len(found) >= QUOTES,
        what=f"{QUOTES} trade results",
    )
    payloads = [decode(r.value, r.headers).payload for r in results]
    assert sorted(p.quote_id for p in payloads) == [f"tq-{n}" for n in range(QUOTES)]
    assert {p.status for p in payloads} == {TradeStatus.FILLED}
    assert {p.execution_venue for p in payloads} == {"throwaway"}
    assert {p.venue_reference for p in payloads} == {f"throwaway-tq-{n}" for n in range(QUOTES)}

    raw = [decode(r.value, r.headers) for r in await records(broker.bootstrap_servers, RAW_TOPIC)]
    assert [type(e.payload) for e in raw] == [plugin.schemas[0]] * QUOTES
    assert all(e.venue == "throwaway" and e.raw for e in raw)
    (rejected,) = [
        decode(r.value, r.headers).payload
        for r in await records(broker.bootstrap_servers, dlq_topic(RAW_TOPIC))
    ]
    assert rejected.reason_code == "not_json" and rejected.consumer == "ingest"
