"""The executor's kill switch (strategy source, recall on engage) and venue-following readiness."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from unrip.executor.kill_switch import KillSwitch
from unrip.executor.readiness import reflect
from unrip.runtime.health import Health
from unrip.strategy.document import DEFAULT_STRATEGY_PATH, StrategyFile
from unrip.venues.near_intents.responder import NearIntentsVenue
from unrip_dev.venues.near_intents.fake_relay import FakeRelay
from unrip_dev.venues.near_intents.fake_rpc import FakeNearRpc

from tests.unit.venues.near_intents.test_near_responder import JWT, make_order, settings_for

ON = DEFAULT_STRATEGY_PATH.read_text().replace("kill_switch: false", "kill_switch: true")


@pytest.fixture
def strategy(tmp_path: Path) -> Path:
    path = tmp_path / "strategy.yaml"
    path.write_text(DEFAULT_STRATEGY_PATH.read_text())
    return path


@pytest.fixture
async def node() -> AsyncIterator[FakeNearRpc]:
    async with FakeNearRpc() as fake:
        yield fake


@pytest.fixture
async def relay(node: FakeNearRpc) -> AsyncIterator[FakeRelay]:
    async with FakeRelay(jwt=JWT, chain=node.state) as fake:
        yield fake


def switch_on(path: Path) -> None:
    path.write_text(ON)


async def hold(_: float) -> None:
    await asyncio.Event().wait()


async def test_turning_the_switch_on_recalls_every_quote_awaiting_settlement(
    strategy: Path, relay: FakeRelay, node: FakeNearRpc
) -> None:
    venue = NearIntentsVenue(settings_for(relay, rpc_url=node.url), sleep=hold)
    await venue.start()
    await venue.wait_ready(5)
    pending = asyncio.ensure_future(venue.submit([make_order(f"u-{i}") for i in range(4)]))
    await relay.wait_quote_responses(4)
    switch = KillSwitch(
        StrategyFile(strategy, poll_interval_s=0.05),
        venue,
        poll_interval_s=0.05,
        recall_on_engage=True,
    )
    stop = asyncio.Event()
    watcher = asyncio.ensure_future(switch.watch(stop))
    try:
        switch_on(strategy)
        await asyncio.wait_for(node.transaction_seen.wait(), 10)
    finally:
        stop.set()
        await watcher
        await venue.close()
        await asyncio.gather(pending, return_exceptions=True)
    assert switch.engaged
    assert len(node.state.invalidated) == 4


async def test_with_the_recall_turned_off_signed_quotes_stay_valid(
    strategy: Path, relay: FakeRelay, node: FakeNearRpc
) -> None:
    venue = NearIntentsVenue(settings_for(relay, rpc_url=node.url), sleep=hold)
    await venue.start()
    await venue.wait_ready(5)
    pending = asyncio.ensure_future(venue.submit([make_order()]))
    await relay.wait_quote_responses(1)
    switch = KillSwitch(
        StrategyFile(strategy, poll_interval_s=0.0),
        venue,
        poll_interval_s=0.0,
        recall_on_engage=False,
    )
    switch_on(strategy)
    try:
        assert switch.check() is True
    finally:
        await venue.close()
        await asyncio.gather(pending, return_exceptions=True)
    assert node.transactions == []


def test_a_switch_already_on_at_start_refuses_from_the_first_command(strategy: Path) -> None:
    strategy.write_text(ON)
    switch = KillSwitch(
        StrategyFile(strategy),
        object(),  # type: ignore[arg-type]
        poll_interval_s=1,
        recall_on_engage=True,
    )
    assert switch.engaged and switch.check()


async def test_the_executor_is_ready_only_while_the_relay_is_connected(
    relay: FakeRelay, node: FakeNearRpc
) -> None:
    venue = NearIntentsVenue(settings_for(relay, rpc_url=node.url))
    await venue.start()
    await venue.wait_ready(5)
    health = Health()
    health.started()
    try:
        reflect(venue, health)
        assert health.ready
    finally:
        await venue.close()  # the relay connection is gone
    reflect(venue, health)
    assert "venue" in health.reasons()
