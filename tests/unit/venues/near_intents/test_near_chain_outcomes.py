"""NearIntentsVenue with the chain as its record: lost notices, restarts and the recall.

The relay and the RPC node are local servers sharing the verifier's state, so a quote the relay
reports executed is also used on chain, as on mainnet.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from unrip.venues.base import OrderStatus, VenueOutcome, VenueUnavailableError
from unrip.venues.near_intents.quote_response import SolverIdentity, build_quote_response
from unrip.venues.near_intents.responder import NearIntentsVenue
from unrip_dev.venues.near_intents.fake_relay import FakeRelay
from unrip_dev.venues.near_intents.fake_rpc import FakeNearRpc

from tests.unit.venues.near_intents.test_near_responder import (
    ACCOUNT,
    JWT,
    KEY,
    instant,
    make_order,
    settings_for,
)

IDENTITY = SolverIdentity(account_id=ACCOUNT, signer=KEY)


@pytest.fixture
async def node() -> AsyncIterator[FakeNearRpc]:
    async with FakeNearRpc() as fake:
        yield fake


@pytest.fixture
async def relay(node: FakeNearRpc) -> AsyncIterator[FakeRelay]:
    async with FakeRelay(jwt=JWT, chain=node.state) as fake:
        yield fake


async def started(
    relay: FakeRelay,
    node: FakeNearRpc,
    sleep: Callable[[float], Awaitable[None]] = instant,
    now: Callable[[], datetime] | None = None,
) -> NearIntentsVenue:
    settings = settings_for(relay, rpc_url=node.url)
    venue = NearIntentsVenue(settings, sleep=sleep, now=now or (lambda: datetime.now(UTC)))
    await venue.start()
    await venue.wait_ready(5)
    return venue


async def never(_: float) -> None:
    await asyncio.Event().wait()


def nonce_of(order: object) -> str:
    signed = build_quote_response(order, IDENTITY)  # type: ignore[arg-type]
    return signed.params["signed_data"]["payload"]["nonce"]  # type: ignore[no-any-return]


async def test_a_fill_announced_while_the_relay_was_disconnected_is_found_on_chain(
    relay: FakeRelay, node: FakeNearRpc
) -> None:
    order = make_order()
    signed = build_quote_response(order, IDENTITY)

    async def filled_during_a_disconnect(_: float) -> None:
        await relay.drop_connections()
        await relay.settle(signed.quote_hash, intent_hash="intent-x", tx_hash="tx-x")  # lost
        await relay.wait_subscribed("quote_status")

    venue = await started(relay, node, sleep=filled_during_a_disconnect)
    try:
        [outcome] = await venue.submit([order])
    finally:
        await venue.close()
    assert outcome.status is OrderStatus.FILLED
    assert outcome.amount_in == order.amount_in and outcome.amount_out == order.amount_out


async def settled_at(
    relay: FakeRelay, venue: NearIntentsVenue, executed_at: float | None
) -> tuple[datetime, VenueOutcome]:
    # One order, settled on quote_status after the relay took its answer; (when the notice
    # was sent, the outcome).
    order = make_order()
    pending = asyncio.ensure_future(venue.submit([order]))
    await relay.wait_quote_responses(1)
    sent = datetime.now(UTC)
    quote_hash = build_quote_response(order, IDENTITY).quote_hash
    await relay.settle(quote_hash, intent_hash="i-1", tx_hash="tx-1", executed_at=executed_at)
    [outcome] = await pending
    return sent, outcome


async def test_a_fill_announced_on_quote_status_is_dated_from_its_block_on_chain(
    relay: FakeRelay, node: FakeNearRpc
) -> None:
    block_time = datetime.now(UTC).replace(microsecond=250_000) - timedelta(seconds=3)
    venue = await started(relay, node, sleep=never)
    try:
        _, outcome = await settled_at(relay, venue, block_time.timestamp())
    finally:
        await venue.close()
    assert outcome.status is OrderStatus.FILLED and outcome.venue_reference == "i-1"
    assert outcome.executed_at == block_time  # the chain's time, not the notice's arrival
    tx = next(c for c in node.calls if c["method"] == "tx")
    # The verifier stands in for the relay's signer unless one is configured.
    assert tx["params"]["tx_hash"] == "tx-1"
    assert tx["params"]["sender_account_id"] == "intents.near"


async def test_a_fill_the_chain_cannot_date_stays_a_fill_dated_at_its_notice(
    node: FakeNearRpc, caplog: pytest.LogCaptureFixture
) -> None:
    # A relay whose settlement the node does not know (e.g. asked with the wrong sender).
    async with FakeRelay(jwt=JWT) as relay:
        venue = await started(relay, node, sleep=never)
        try:
            sent, outcome = await settled_at(relay, venue, None)
        finally:
            await venue.close()
    assert outcome.status is OrderStatus.FILLED
    assert sent <= outcome.executed_at <= datetime.now(UTC)
    assert "fill dated at its notice's arrival" in caplog.text
    assert "UNKNOWN_TRANSACTION" in caplog.text


async def test_a_quote_nobody_executed_is_not_filled_even_after_a_disconnect(
    relay: FakeRelay, node: FakeNearRpc
) -> None:
    async def disconnect(_: float) -> None:
        await relay.drop_connections()
        await relay.wait_subscribed("quote_status")

    venue = await started(relay, node, sleep=disconnect)
    try:
        [outcome] = await venue.submit([make_order()])
    finally:
        await venue.close()
    assert outcome.status is OrderStatus.NOT_FILLED


async def test_after_a_restart_lookup_finds_a_real_fill_and_a_real_miss_on_chain(
    relay: FakeRelay, node: FakeNearRpc
) -> None:
    filled, missed, fresh = make_order("u-filled"), make_order("u-missed"), make_order("u-fresh")
    first = await started(relay, node, sleep=never)
    pending = asyncio.ensure_future(first.submit([filled, missed]))
    await relay.wait_quote_responses(2)
    await relay.settle(
        build_quote_response(filled, IDENTITY).quote_hash, intent_hash="i", tx_hash="t"
    )
    await first.close()  # the process stops before recording anything
    with pytest.raises(VenueUnavailableError):
        await pending

    later = datetime.now(UTC) + timedelta(minutes=3)  # both intents' deadlines have passed
    second = await started(relay, node, now=lambda: later)
    try:
        found = await second.lookup([filled, missed, make_order("u-fresh", in_ms=10**6)])
    finally:
        await second.close()
    assert found[filled.client_order_id].status is OrderStatus.FILLED
    assert found[missed.client_order_id].status is OrderStatus.NOT_FILLED
    assert fresh.client_order_id not in found  # not past its deadline: the chain may change


async def test_an_unreachable_chain_at_the_deadline_means_the_outcome_is_unknown(
    relay: FakeRelay, node: FakeNearRpc
) -> None:
    node.available = False
    venue = await started(relay, node)
    try:
        with pytest.raises(VenueUnavailableError, match="HTTP 503"):
            await venue.submit([make_order()])
    finally:
        await venue.close()


async def test_a_recall_invalidates_every_outstanding_quote_on_chain(
    relay: FakeRelay, node: FakeNearRpc
) -> None:
    orders = [make_order(f"u-{i}") for i in range(3)]
    venue = await started(relay, node, sleep=never)
    pending = asyncio.ensure_future(venue.submit(orders))
    await relay.wait_quote_responses(3)
    try:
        assert venue.outstanding == 3
        assert await venue.recall() == 3
    finally:
        await venue.close()
        await asyncio.gather(pending, return_exceptions=True)
    assert node.state.invalidated == {(ACCOUNT, nonce_of(o)) for o in orders}
    [transaction] = node.transactions
    assert transaction["actions"][0]["method_name"] == "invalidate_nonces"


async def test_a_recalled_quote_is_not_reported_as_filled(
    relay: FakeRelay, node: FakeNearRpc
) -> None:
    recalled = asyncio.Event()

    async def until_recalled(_: float) -> None:
        await recalled.wait()

    venue = await started(relay, node, sleep=until_recalled)
    pending = asyncio.ensure_future(venue.submit([make_order()]))
    await relay.wait_quote_responses(1)
    try:
        await venue.recall()
        recalled.set()
        [outcome] = await pending
    finally:
        await venue.close()
    assert outcome.status is OrderStatus.NOT_FILLED
    assert outcome.reason is not None and "recalled" in outcome.reason


async def test_without_an_rpc_endpoint_a_recall_revokes_nothing(relay: FakeRelay) -> None:
    venue = NearIntentsVenue(settings_for(relay), sleep=never)
    await venue.start()
    try:
        assert await venue.recall() == 0
    finally:
        await venue.close()


async def test_an_unanswered_quote_response_is_never_sent_again_and_the_chain_decides(
    relay: FakeRelay, node: FakeNearRpc
) -> None:
    relay.answer_quote_responses = False  # it may or may not have entered the auction
    settings = settings_for(relay, rpc_url=node.url, request_timeout_s=0.05)
    venue = NearIntentsVenue(settings, sleep=instant)
    await venue.start()
    await venue.wait_ready(5)
    try:
        [outcome] = await venue.submit([make_order()])
    finally:
        await venue.close()
    assert outcome.status is OrderStatus.NOT_FILLED
    assert len(relay.quote_responses) == 1
