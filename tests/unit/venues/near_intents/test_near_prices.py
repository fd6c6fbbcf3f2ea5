"""The NEAR Intents price stream: 1Click token lists become reference prices, changes only."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from unrip.contracts import ReferencePriceV1
from unrip.topics import NORM_REFERENCE_PRICE, RAW_NEAR_INTENTS_TOKENS
from unrip.venues import registry
from unrip.venues.feed import FileFeed
from unrip.venues.near_intents.prices import PRICE_PATHS, PriceNormalizer, recorded_prices
from unrip.venues.sources import NormalizeError, ReceivedMessage

T0 = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def body(**prices: float) -> str:
    ids = {"wNEAR": ("nep141:wrap.near", 24), "USDC": ("nep141:usdc.near", 6)}
    return json.dumps(
        [
            {
                "assetId": ids[symbol][0],
                "decimals": ids[symbol][1],
                "blockchain": "near",
                "symbol": symbol,
                "price": price,
                "priceUpdatedAt": "2026-11-28T11:59:59.123Z",
                "contractAddress": ids[symbol][0].split(":")[1],
            }
            for symbol, price in prices.items()
        ]
    )


def prices_of(normalizer: PriceNormalizer, text: str, at: datetime) -> list[ReferencePriceV1]:
    normalized = normalizer(ReceivedMessage(text=text, received_at=at), source="file")
    assert normalized is not None
    for derived in normalized.derived:
        assert derived.topic == NORM_REFERENCE_PRICE
        assert isinstance(derived.payload, ReferencePriceV1)
        assert derived.key == derived.payload.asset_id  # compaction keeps the latest per asset
    return [d.payload for d in normalized.derived]  # type: ignore[misc]


def test_every_priced_asset_is_published_first_then_only_changes() -> None:
    normalizer = PriceNormalizer(heartbeat_s=30)
    first = prices_of(normalizer, body(wNEAR=2.31, USDC=0.999997), T0)
    assert [(p.symbol, p.usd_price, p.heartbeat) for p in first] == [
        ("wNEAR", Decimal("2.31"), False),
        ("USDC", Decimal("0.999997"), False),
    ]
    assert first[0].decimals == 24
    assert first[0].price_updated_at == datetime(2026, 11, 28, 11, 59, 59, 123000, tzinfo=UTC)
    changed = prices_of(normalizer, body(wNEAR=2.30, USDC=0.999997), T0 + timedelta(seconds=5))
    assert [(p.symbol, p.usd_price) for p in changed] == [("wNEAR", Decimal("2.30"))]


def test_an_unchanged_price_is_republished_as_a_heartbeat_so_staleness_shows() -> None:
    normalizer = PriceNormalizer(heartbeat_s=30)
    prices_of(normalizer, body(wNEAR=2.31), T0)
    assert prices_of(normalizer, body(wNEAR=2.31), T0 + timedelta(seconds=29)) == []
    beat = prices_of(normalizer, body(wNEAR=2.31), T0 + timedelta(seconds=30))
    assert [(p.usd_price, p.heartbeat) for p in beat] == [(Decimal("2.31"), True)]


def test_unpriced_or_malformed_entries_are_skipped_and_the_rest_published() -> None:
    entries = json.loads(body(wNEAR=2.31, USDC=0))  # 1Click lists unpriced tokens at 0
    entries.append({"assetId": "no-colon", "decimals": 6, "symbol": "X", "price": 1})
    entries.append("not an object")
    normalizer = PriceNormalizer(heartbeat_s=30)
    normalized = normalizer(ReceivedMessage(json.dumps(entries), T0), source="live")
    assert normalized is not None
    assert [d.key for d in normalized.derived] == ["nep141:wrap.near"]
    assert normalized.raw.model_dump() == {"source": "live", "assets": 4}


@pytest.mark.parametrize(("text", "code"), [("{", "not_json"), ('{"a": 1}', "not_a_list")])
def test_a_body_that_is_not_a_token_list_is_rejected_with_a_stable_code(
    text: str, code: str
) -> None:
    with pytest.raises(NormalizeError) as caught:
        PriceNormalizer(heartbeat_s=30)(ReceivedMessage(text, T0), source="live")
    assert caught.value.code == code


def test_the_venue_plugin_hosts_prices_beside_quotes_with_quotes_the_default() -> None:
    plugin = registry.load("near_intents")
    assert plugin.stream("prices").raw_topic == RAW_NEAR_INTENTS_TOKENS
    assert plugin.stream().name == "quotes"


@pytest.mark.parametrize("path", PRICE_PATHS)
async def test_each_shipped_price_path_replays_into_prices_for_every_asset(path: str) -> None:
    normalizer = PriceNormalizer(heartbeat_s=30)
    symbols: set[str] = set()
    lists = 0
    async with FileFeed(recorded_prices(path), pace="fast") as feed:
        async for message in feed:
            lists += 1
            symbols |= {p.symbol for p in prices_of(normalizer, message.text, message.received_at)}
    assert lists == 180  # three minutes, one poll a second
    assert symbols == {"wNEAR", "USDC", "USDT", "ETH", "BTC", "SOL"}


def test_the_adverse_path_falls_steadily_and_the_calm_one_ends_where_it_started() -> None:
    def wnear(path: str) -> list[float]:
        lines = recorded_prices(path).read_text().splitlines()
        return [json.loads(json.loads(line)["text"])[0]["price"] for line in lines]

    adverse, calm = wnear("adverse"), wnear("calm")
    assert adverse[-1] / adverse[0] < 0.9  # more than 10 % down
    # Never more than 3 % in 10 s: the price-jump breaker stays quiet, the loss limit must act.
    assert max(abs(adverse[i + 10] / adverse[i] - 1) for i in range(len(adverse) - 10)) < 0.03
    assert calm[0] == calm[-1]
