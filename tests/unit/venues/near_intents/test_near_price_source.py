"""The live price source against a local server speaking 1Click's /v0/tokens format."""

from __future__ import annotations

import json

from unrip.venues.near_intents.price_source import TokenListPoller
from unrip.venues.near_intents.prices import recorded_prices
from unrip_dev.venues.near_intents.fake_one_click import FakeOneClick


def connected(poller: TokenListPoller) -> bool:
    return poller.connected


async def test_each_poll_yields_the_body_exactly_as_served() -> None:
    path = recorded_prices("adverse")
    with FakeOneClick(path) as api:
        async with TokenListPoller(api.url, interval_s=0.01, timeout_s=5) as poller:
            received = []
            async for message in poller:
                received.append(message.text)
                if len(received) == 3:
                    break
            assert poller.connected
    assert received == api.bodies[:3]
    assert json.loads(received[0])[0]["assetId"] == "nep141:wrap.near"


async def test_a_failing_api_marks_the_source_disconnected_and_polling_recovers() -> None:
    with FakeOneClick(recorded_prices("calm")) as api:
        api.fail_next = 2
        async with TokenListPoller(api.url, interval_s=0.01, timeout_s=5) as poller:
            assert connected(poller) is False  # nothing received yet
            first = await anext(aiter(poller))  # the first body after the two 503s
            assert connected(poller) is True
    assert first.text == api.bodies[0]
    assert api.fail_next == 0 and api.requests == 1
