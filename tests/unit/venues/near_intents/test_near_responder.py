"""NearIntentsVenue against a local relay: outcomes, idempotency, refusal and secrecy."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from unrip.contracts.payloads import SwapKind
from unrip.venues.base import OrderStatus, Venue, VenueOrder, VenueUnavailableError
from unrip.venues.near_intents.nep413 import Ed25519Signer
from unrip.venues.near_intents.quote_response import SolverIdentity, build_quote_response
from unrip.venues.near_intents.relay import Backoff, RelayClient
from unrip.venues.near_intents.responder import NearIntentsVenue
from unrip.venues.near_intents.settings import MissingCredentialsError, NearIntentsSettings
from unrip_dev.venues.near_intents.fake_relay import FakeRelay

JWT = "partner-jwt-77aa01"
KEY = Ed25519Signer.generate()
ACCOUNT = "solver.near"


def make_order(client_order_id: str = "u-order-1", *, in_ms: int = 2000) -> VenueOrder:
    return VenueOrder(
        client_order_id=client_order_id,
        command_id=f"cmd-{client_order_id}",
        quote_id=f"quote-{client_order_id}",
        asset_in="nep141:wrap.near",
        asset_out="nep141:usdt.tether-token.near",
        amount_in=10**24,
        amount_out=2_300_000,
        deadline=datetime.now(UTC) + timedelta(milliseconds=in_ms),
        quote_validity_ms=60_000,
        kind=SwapKind.EXACT_IN,
    )


def settings_for(relay: FakeRelay, **overrides: object) -> NearIntentsSettings:
    values: dict[str, object] = {
        "relay_url": relay.url,
        "jwt": JWT,
        "solver_account_id": ACCOUNT,
        "signing_key": KEY.near_secret(),
        "request_timeout_s": 2.0,
        "reconnect_initial_s": 0.01,
    }
    values.update(overrides)
    return NearIntentsSettings(**values)  # type: ignore[arg-type]


async def instant(_: float) -> None:
    """The settlement wait elapses at once: the intent deadline 'has passed'."""
    await asyncio.sleep(0)


@pytest.fixture
async def relay() -> AsyncIterator[FakeRelay]:
    async with FakeRelay(jwt=JWT) as fake:
        yield fake


async def started(
    relay: FakeRelay, sleep: Callable[[float], Awaitable[None]] = instant, **overrides: object
) -> NearIntentsVenue:
    venue = NearIntentsVenue(settings_for(relay, **overrides), sleep=sleep)
    await venue.start()
    await venue.wait_ready(5)
    return venue


async def test_implements_the_venue_interface(relay: FakeRelay) -> None:
    venue = await started(relay)
    try:
        assert isinstance(venue, Venue)
        assert venue.name == "near_intents"
        assert venue.ready
    finally:
        await venue.close()


async def test_an_executed_quote_is_filled(relay: FakeRelay) -> None:
    relay.auto_settle = True
    venue = await started(relay, sleep=asyncio.sleep)
    order = make_order()
    try:
        [outcome] = await venue.submit([order])
    finally:
        await venue.close()

    assert outcome.status is OrderStatus.FILLED
    assert (outcome.amount_in, outcome.amount_out) == (order.amount_in, order.amount_out)
    assert outcome.venue_reference and outcome.venue_reference.startswith("intent-")
    assert not outcome.duplicate
    [sent] = relay.quote_responses
    assert sent["quote_id"] == order.quote_id
    assert sent["quote_output"] == {"amount_out": "2300000"}
    message = json.loads(sent["signed_data"]["payload"]["message"])
    assert message["signer_id"] == ACCOUNT
    assert sent["signed_data"]["public_key"] == KEY.public_key


async def test_a_resubmitted_order_returns_the_stored_outcome(relay: FakeRelay) -> None:
    relay.auto_settle = True
    venue = await started(relay, sleep=asyncio.sleep)
    order = make_order()
    try:
        [first] = await venue.submit([order])
        [again] = await venue.submit([order])
        found = await venue.lookup([order, make_order("never-sent")])
    finally:
        await venue.close()

    assert again == replace(first, duplicate=True)
    assert found == {order.client_order_id: first}
    assert len(relay.quote_responses) == 1


async def test_concurrent_submits_of_one_order_send_one_response(relay: FakeRelay) -> None:
    relay.auto_settle = True
    venue = await started(relay, sleep=asyncio.sleep)
    order = make_order()
    try:
        a, b = await asyncio.gather(venue.submit([order]), venue.submit([order]))
    finally:
        await venue.close()

    assert a[0].status is b[0].status is OrderStatus.FILLED
    assert sorted([a[0].duplicate, b[0].duplicate]) == [False, True]
    assert len(relay.quote_responses) == 1


async def test_a_quote_nobody_executes_is_not_filled(relay: FakeRelay) -> None:
    venue = await started(relay)
    try:
        [outcome] = await venue.submit([make_order()])
    finally:
        await venue.close()
    assert outcome.status is OrderStatus.NOT_FILLED
    assert (outcome.amount_in, outcome.amount_out) == (0, 0)


async def test_another_solvers_settlement_does_not_fill_ours(relay: FakeRelay) -> None:
    gate = asyncio.Event()

    async def sleep_until_released(_: float) -> None:
        await gate.wait()

    venue = await started(relay, sleep=sleep_until_released)
    try:
        submitted = asyncio.ensure_future(venue.submit([make_order()]))
        await relay.wait_quote_responses(1)
        await relay.settle("someone-elses-quote-hash", intent_hash="i", tx_hash="t")
        gate.set()
        [outcome] = await submitted
    finally:
        await venue.close()
    assert outcome.status is OrderStatus.NOT_FILLED


async def test_the_relay_refusing_the_response_is_a_rejection(relay: FakeRelay) -> None:
    relay.quote_response_error = "quote not found or already finished"
    venue = await started(relay)
    try:
        [outcome] = await venue.submit([make_order()])
    finally:
        await venue.close()
    assert outcome.status is OrderStatus.REJECTED
    assert outcome.reason == "relay: quote not found or already finished"


async def test_nothing_is_sent_while_the_relay_is_unreachable() -> None:
    async with FakeRelay(jwt=JWT) as relay:
        url = relay.url
    settings = NearIntentsSettings(
        relay_url=url,
        solver_account_id=ACCOUNT,
        signing_key=KEY.near_secret(),
    )
    venue = NearIntentsVenue(settings)
    await venue.start()
    try:
        assert not venue.ready
        with pytest.raises(VenueUnavailableError, match="not sent"):
            await venue.submit([make_order()])
    finally:
        await venue.close()


async def test_an_order_past_its_deadline_is_not_sent(relay: FakeRelay) -> None:
    venue = await started(relay)
    try:
        [outcome] = await venue.submit([make_order(in_ms=-1)])
    finally:
        await venue.close()
    assert outcome.status is OrderStatus.REJECTED
    assert relay.quote_responses == []


@pytest.mark.parametrize("validity_ms", [120_001, 10**15, 2**63])
async def test_a_quote_valid_for_longer_than_the_maximum_is_never_signed(
    relay: FakeRelay, validity_ms: int
) -> None:
    venue = await started(relay)
    try:
        [outcome] = await venue.submit([replace(make_order(), quote_validity_ms=validity_ms)])
    finally:
        await venue.close()
    assert outcome.status is OrderStatus.REJECTED
    assert outcome.reason is not None and "maximum" in outcome.reason
    assert relay.quote_responses == []


async def test_no_answer_means_the_outcome_is_unknown(relay: FakeRelay) -> None:
    relay.answer_quote_responses = False
    venue = await started(relay, request_timeout_s=0.05)
    order = make_order()
    try:
        with pytest.raises(VenueUnavailableError, match="outcome unknown"):
            await venue.submit([order])
        assert await venue.lookup([order]) == {}
    finally:
        await venue.close()


async def test_losing_the_status_stream_while_waiting_means_unknown(relay: FakeRelay) -> None:
    async def relay_restarts_meanwhile(_: float) -> None:
        await relay.drop_connections()
        await relay.wait_subscribed("quote_status")

    venue = await started(relay, sleep=relay_restarts_meanwhile)
    try:
        with pytest.raises(VenueUnavailableError, match="interrupted"):
            await venue.submit([make_order()])
    finally:
        await venue.close()


async def test_closing_while_waiting_for_settlement_means_unknown(relay: FakeRelay) -> None:
    async def never(_: float) -> None:
        await asyncio.Event().wait()

    venue = await started(relay, sleep=never)
    submitted = asyncio.ensure_future(venue.submit([make_order()]))
    await relay.wait_quote_responses(1)
    await venue.close()
    with pytest.raises(VenueUnavailableError, match="closed while waiting"):
        await submitted


async def test_a_settlement_after_a_reconnect_still_fills(relay: FakeRelay) -> None:
    # Guaranteed-delivery style: the relay replays the notice on the new connection.
    order = make_order()
    signed = build_quote_response(order, SolverIdentity(account_id=ACCOUNT, signer=KEY))

    async def reconnect_then_settle(_: float) -> None:
        await relay.drop_connections()
        await relay.wait_subscribed("quote_status")
        await relay.settle(signed.quote_hash, intent_hash="intent-x", tx_hash="tx-x")
        await asyncio.Event().wait()  # the notice, not the timer, ends the wait

    venue = await started(relay, sleep=reconnect_then_settle)
    try:
        [outcome] = await venue.submit([order])
    finally:
        await venue.close()
    assert outcome.status is OrderStatus.FILLED
    assert outcome.venue_reference == "intent-x"


@pytest.mark.parametrize(
    ("missing", "named"),
    [
        ({"signing_key": None}, "UNRIP_NEAR_INTENTS_SIGNING_KEY"),
        ({"solver_account_id": None}, "UNRIP_NEAR_INTENTS_SOLVER_ACCOUNT_ID"),
        ({"signing_key": None, "solver_account_id": None}, "SOLVER_ACCOUNT_ID, UNRIP_NEAR"),
    ],
)
async def test_refuses_to_start_without_credentials(
    relay: FakeRelay, missing: dict[str, object], named: str
) -> None:
    venue = NearIntentsVenue(settings_for(relay, **missing))
    with pytest.raises(MissingCredentialsError, match=named):
        await venue.start()
    assert relay.handshakes == 0  # refused before touching the relay


async def test_an_unusable_key_is_refused_without_showing_it(relay: FakeRelay) -> None:
    secret = KEY.near_secret()
    truncated = secret[:-6]
    venue = NearIntentsVenue(settings_for(relay, signing_key=truncated))
    with pytest.raises(MissingCredentialsError, match="SIGNING_KEY is unusable") as caught:
        await venue.start()
    assert truncated.removeprefix("ed25519:")[:20] not in str(caught.value)


async def test_secrets_never_reach_logs_or_reprs(
    relay: FakeRelay, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    relay.auto_settle = True
    settings = settings_for(relay)
    venue = await started(relay, sleep=asyncio.sleep)
    try:
        await venue.submit([make_order()])
    finally:
        await venue.close()

    secret = KEY.near_secret().removeprefix("ed25519:")
    seed_part = secret[:20]
    for text in (caplog.text, repr(settings), str(settings), repr(venue)):
        assert JWT not in text
        assert seed_part not in text


async def test_an_injected_relay_client_is_used_as_is(relay: FakeRelay) -> None:
    client = RelayClient(
        relay.url, jwt=JWT, subscriptions=("quote_status",), backoff=Backoff(0.01, 0.02)
    )
    venue = NearIntentsVenue(settings_for(relay, relay_url="ws://unused.invalid/ws"), relay=client)
    await venue.start()
    try:
        await client.wait_connected(5)
        assert venue.ready
    finally:
        await venue.close()
    assert relay.handshakes == 1
