"""RelayClient against a real local websocket relay (FakeRelay): auth, frames, RPC, reconnects."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from unrip.venues.near_intents.relay import (
    Backoff,
    RelayClient,
    RelayRpcError,
    RelayUnavailableError,
)
from unrip.venues.sources import ReceivedMessage
from unrip_dev.venues.near_intents.fake_relay import FakeRelay

JWT = "partner-jwt-3b9f1c"
STAMP = datetime(2026, 3, 1, 12, tzinfo=UTC)
QUOTE = {
    "quote_id": "q-1",
    "defuse_asset_identifier_in": "nep141:wrap.near",
    "defuse_asset_identifier_out": "nep141:usdt.tether-token.near",
    "exact_amount_in": "1000000000000000000000000",
    "min_deadline_ms": 60000,
}


class RecordingSleep:
    """Backoff sleeps recorded instead of waited; ``reached(n)`` fires after n sleeps."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self._changed = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        self._changed.set()
        await asyncio.sleep(0)

    async def reached(self, count: int) -> None:
        while len(self.delays) < count:
            self._changed.clear()
            await asyncio.wait_for(self._changed.wait(), 5)


@pytest.fixture
async def relay() -> AsyncIterator[FakeRelay]:
    async with FakeRelay(jwt=JWT) as fake:
        yield fake


def client_for(relay: FakeRelay, **kw: object) -> RelayClient:
    options: dict[str, object] = {"jwt": JWT, "now": lambda: STAMP, "sleep": RecordingSleep()}
    options.update(kw)
    return RelayClient(relay.url, **options)  # type: ignore[arg-type]


async def next_frame(frames: AsyncIterator[ReceivedMessage]) -> ReceivedMessage:
    return await asyncio.wait_for(anext(frames), 5)


async def test_connects_with_the_jwt_and_subscribes(relay: FakeRelay) -> None:
    async with client_for(relay) as client:
        await client.wait_connected(5)

        assert client.connected
        assert relay.handshakes == 1 and relay.rejected_handshakes == 0
        assert relay.requests[0]["method"] == "subscribe"
        assert relay.requests[0]["params"] == ["quote"]
        assert set(client.subscription_ids) == {"quote"}
    assert not client.connected


async def test_quote_filter_is_sent_with_the_quote_subscription(relay: FakeRelay) -> None:
    tokens = {"tokens_in": ["nep141:wrap.near"], "tokens_out": ["nep141:wrap.near"]}
    async with client_for(relay, subscriptions=("quote", "quote_status"), quote_filter=tokens) as c:
        await c.wait_connected(5)
    assert [r["params"] for r in relay.requests] == [["quote", tokens], ["quote_status"]]


async def test_frames_arrive_verbatim_in_order_with_their_arrival_time(relay: FakeRelay) -> None:
    async with client_for(relay) as client:
        await client.wait_connected(5)
        frames = aiter(client)
        await relay.publish_quote(QUOTE, metadata={"partner_id": "1click"})
        await relay.publish_quote(QUOTE | {"quote_id": "q-2"}, form="flat")

        ack, nested, flat = [await next_frame(frames) for _ in range(3)]

    assert json.loads(ack.text)["result"] == client.subscription_ids["quote"]
    assert json.loads(nested.text)["params"]["data"] == QUOTE
    assert json.loads(nested.text)["params"]["metadata"] == {"partner_id": "1click"}
    assert json.loads(flat.text)["params"]["quote_id"] == "q-2"
    assert nested.received_at == flat.received_at == STAMP


async def test_iteration_ends_when_the_client_closes(relay: FakeRelay) -> None:
    client = client_for(relay)
    await client.start()
    await client.wait_connected(5)
    received = asyncio.ensure_future(_drain(client))
    await client.close()
    assert len(await asyncio.wait_for(received, 5)) == 1  # the subscription ack


async def _drain(client: RelayClient) -> list[ReceivedMessage]:
    return [message async for message in client]


async def test_a_wrong_jwt_is_refused_and_retried_with_growing_capped_backoff() -> None:
    sleep = RecordingSleep()
    async with FakeRelay(jwt=JWT) as relay:
        backoff = Backoff(initial_s=0.1, max_s=0.4)
        async with client_for(relay, jwt="wrong", sleep=sleep, backoff=backoff, rand=lambda: 1.0):
            await sleep.reached(5)
        assert relay.rejected_handshakes >= 5
    assert sleep.delays[:5] == pytest.approx([0.1, 0.2, 0.4, 0.4, 0.4])


async def test_reconnects_and_resubscribes_after_the_relay_drops_it(relay: FakeRelay) -> None:
    sleep = RecordingSleep()
    async with client_for(relay, sleep=sleep) as client:
        await client.wait_connected(5)
        frames = aiter(client)
        await next_frame(frames)  # first ack

        await relay.drop_connections()
        await sleep.reached(1)
        await relay.wait_subscribed("quote")
        await client.wait_connected(5)
        await relay.publish_quote(QUOTE)

        second_ack, quote = await next_frame(frames), await next_frame(frames)

    assert client.connections == 2
    assert [r["method"] for r in relay.requests] == ["subscribe", "subscribe"]
    assert json.loads(second_ack.text)["result"] == client.subscription_ids["quote"]
    assert json.loads(quote.text)["params"]["data"]["quote_id"] == "q-1"
    assert len(sleep.delays) == 1  # one reconnect, no busy loop


async def test_requests_are_correlated_by_id(relay: FakeRelay) -> None:
    async with client_for(relay) as client:
        await client.wait_connected(5)
        alpha, beta = await asyncio.gather(
            client.request("subscribe", ["alpha"]), client.request("subscribe", ["beta"])
        )
        with pytest.raises(RelayRpcError, match="unknown method") as caught:
            await client.request("teleport", [])
        subscriptions = relay.subscriptions()

    assert (subscriptions[alpha], subscriptions[beta]) == ("alpha", "beta")
    assert caught.value.method == "teleport"


async def test_request_without_a_connection_fails_at_once() -> None:
    client = RelayClient("ws://127.0.0.1:9/ws")
    with pytest.raises(RelayUnavailableError, match="not connected"):
        await client.request("quote_response", [{}])


async def test_unanswered_request_times_out_as_unavailable(relay: FakeRelay) -> None:
    relay.answer_quote_responses = False
    async with client_for(relay, request_timeout_s=0.05) as client:
        await client.wait_connected(5)
        with pytest.raises(RelayUnavailableError, match="no answer"):
            await client.request("quote_response", [{"quote_id": "q-1"}])


async def test_pending_request_fails_when_the_connection_drops(relay: FakeRelay) -> None:
    relay.answer_quote_responses = False
    async with client_for(relay, request_timeout_s=30) as client:
        await client.wait_connected(5)
        pending = asyncio.ensure_future(client.request("quote_response", [{"quote_id": "q"}]))
        await relay.wait_quote_responses(1)
        await relay.drop_connections()
        with pytest.raises(RelayUnavailableError, match="lost"):
            await asyncio.wait_for(pending, 5)


async def test_unread_frames_beyond_the_queue_drop_oldest_first(relay: FakeRelay) -> None:
    async with client_for(relay, queue_size=2) as client:
        await client.wait_connected(5)
        for n in range(4):
            await relay.publish_quote(QUOTE | {"quote_id": f"q-{n}"})
        # The answer comes after the quotes on the same connection: all of them are read.
        marker = await client.request("subscribe", ["marker"])
        frames = aiter(client)
        kept = [json.loads((await next_frame(frames)).text) for _ in range(2)]

    assert client.dropped == 4  # ack, q-0, q-1, q-2
    assert kept[0]["params"]["data"]["quote_id"] == "q-3"
    assert kept[1]["result"] == marker


async def test_the_jwt_never_reaches_a_log(
    relay: FakeRelay, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with client_for(relay) as client:
        await client.wait_connected(5)
    refused = RecordingSleep()
    async with client_for(relay, jwt="wrong-" + JWT, sleep=refused):
        await refused.reached(1)
    assert "Authorization" in caplog.text  # the handshake was logged ...
    assert JWT not in caplog.text  # ... without the token


@pytest.mark.parametrize(
    ("attempt", "ceiling"), [(0, 0.25), (1, 0.5), (5, 8.0), (7, 30.0), (10_000, 30.0)]
)
def test_backoff_stays_within_its_jittered_ceiling(attempt: int, ceiling: float) -> None:
    backoff = Backoff(initial_s=0.25, max_s=30.0)
    assert backoff.delay(attempt, lambda: 0.0) == pytest.approx(ceiling / 2)
    assert backoff.delay(attempt, lambda: 1.0) == pytest.approx(ceiling)


async def test_the_ingest_relay_subscribes_with_the_configured_token_filter(
    relay: FakeRelay, monkeypatch: pytest.MonkeyPatch
) -> None:
    from unrip.venues.near_intents.source import open_relay

    monkeypatch.setenv("UNRIP_NEAR_INTENTS_RELAY_URL", relay.url)
    monkeypatch.setenv("UNRIP_NEAR_INTENTS_JWT", JWT)
    tokens = ["nep141:wrap.near", "nep141:usdt.tether-token.near"]
    monkeypatch.setenv("UNRIP_NEAR_INTENTS_TOKENS", ",".join(tokens))
    source = open_relay()
    assert isinstance(source, RelayClient)
    async with source as client:
        await client.wait_connected(5)
    assert relay.requests[0]["params"] == ["quote", {"tokens_in": tokens, "tokens_out": tokens}]
