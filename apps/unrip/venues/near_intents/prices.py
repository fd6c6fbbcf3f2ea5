"""The NEAR Intents price stream: 1Click token lists in, ``norm.reference_price`` out.

Each message is one HTTP body of ``GET /v0/tokens`` (live from ``price_source`` or replayed
from a recording in ``data/prices_*.jsonl``). It becomes a raw event
(``raw.near_intents.tokens``, the exact body) and one ``ReferencePriceV1`` per asset whose
price, symbol or decimals changed since the last event for it, or whose last event is older
than the heartbeat interval: so a quiet but healthy source still refreshes every price, and a
silent one lets them go stale. The normaliser keeps that per-asset memory; it lives as long
as the ingest process (a restart republishes every asset once, which is harmless).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from unrip.contracts import ReferencePriceV1
from unrip.contracts.envelope import Payload
from unrip.topics import NORM_REFERENCE_PRICE, RAW_NEAR_INTENTS_TOKENS
from unrip.venues.near_intents import VENUE
from unrip.venues.near_intents.settings import NearIntentsSettings
from unrip.venues.sources import (
    Derived,
    MessageSource,
    Normalized,
    NormalizeError,
    Normalizer,
    ReceivedMessage,
    SourceKind,
    Stream,
)

DATA = Path(__file__).with_name("data")
PRICE_PATHS = ("calm", "trending", "adverse")


def recorded_prices(path_name: str) -> Path:
    """The shipped recording of a price path (``calm``, ``trending``, ``adverse``)."""
    if path_name not in PRICE_PATHS:
        raise ValueError(f"price path must be one of {', '.join(PRICE_PATHS)}, not {path_name!r}")
    return DATA / f"prices_{path_name}.jsonl"


class NearIntentsTokenListV1(Payload):
    """One 1Click token list (``GET /v0/tokens``); the exact body is in ``raw``."""

    EVENT_TYPE = "near_intents.token_list"
    SCHEMA_VERSION = 1

    source: Literal["live", "file"]
    assets: int = Field(ge=0, description="entries in the list")


@dataclass(frozen=True, slots=True)
class _Last:
    symbol: str
    decimals: int
    usd_price: Decimal
    published_at: datetime


def _entry(item: Any) -> ReferencePriceV1 | None:
    # One token of the list; entries without a usable price are skipped, not fatal (1Click
    # lists tokens it cannot price yet with price 0).
    if not isinstance(item, dict):
        return None
    asset_id, symbol, decimals, price = (
        item.get("assetId"),
        item.get("symbol"),
        item.get("decimals"),
        item.get("price"),
    )
    if not isinstance(asset_id, str) or ":" not in asset_id or not isinstance(symbol, str):
        return None
    if type(decimals) is not int or not 0 <= decimals <= 36:
        return None
    try:
        usd = Decimal(str(price))
    except InvalidOperation:
        return None
    if not usd.is_finite() or usd <= 0:
        return None
    updated = item.get("priceUpdatedAt")
    return ReferencePriceV1(
        asset_id=asset_id,
        symbol=symbol,
        decimals=decimals,
        usd_price=usd,
        price_updated_at=updated.replace("Z", "+00:00") if isinstance(updated, str) else None,
    )


class PriceNormalizer:
    """Token list -> raw event + the reference prices that changed or are due a heartbeat."""

    def __init__(self, heartbeat_s: float) -> None:
        self.heartbeat = timedelta(seconds=heartbeat_s)
        self._last: dict[str, _Last] = {}

    def __call__(self, message: ReceivedMessage, *, source: SourceKind) -> Normalized | None:
        try:
            body = json.loads(message.text, parse_float=Decimal)
        except ValueError as exc:
            raise NormalizeError("not_json", f"token list is not JSON: {exc}") from None
        if not isinstance(body, list):
            raise NormalizeError("not_a_list", f"expected a JSON array, got {type(body).__name__}")
        now = message.received_at
        derived: list[Derived] = []
        for item in body:
            try:
                price = _entry(item)
            except ValueError:
                price = None  # a malformed timestamp: the entry is unusable, the rest is fine
            if price is None:
                continue
            last = self._last.get(price.asset_id)
            changed = last is None or (last.usd_price, last.symbol, last.decimals) != (
                price.usd_price,
                price.symbol,
                price.decimals,
            )
            if not changed and last is not None and now - last.published_at < self.heartbeat:
                continue
            if not changed:
                price = price.model_copy(update={"heartbeat": True})
            self._last[price.asset_id] = _Last(price.symbol, price.decimals, price.usd_price, now)
            derived.append(Derived(topic=NORM_REFERENCE_PRICE, key=price.asset_id, payload=price))
        raw = NearIntentsTokenListV1(source=source, assets=len(body))
        return Normalized(key=VENUE, raw=raw, derived=tuple(derived))


def price_normalizer() -> Normalizer:
    return PriceNormalizer(NearIntentsSettings().price_heartbeat_s)


def open_token_poller() -> MessageSource:
    """The live 1Click token list, polled every ``price_poll_interval_s``."""
    from unrip.venues.near_intents.price_source import TokenListPoller

    near = NearIntentsSettings()
    return TokenListPoller(
        near.tokens_url,
        interval_s=near.price_poll_interval_s,
        timeout_s=near.request_timeout_s,
    )


PRICES = Stream(
    name="prices",
    raw_topic=RAW_NEAR_INTENTS_TOKENS,
    open_live=open_token_poller,
    normalizer=price_normalizer,
    recorded_feed=recorded_prices("calm"),
    # The public endpoint needs no credentials: live is always configured.
    live_configured=lambda: True,
)
