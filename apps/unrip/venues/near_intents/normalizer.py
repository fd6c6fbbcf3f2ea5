"""Solver-relay frame -> (raw quote event, venue-independent swap demand).

One call per received frame, on the ingest's hot path: the text is parsed once and every
check is a dictionary lookup or a short string test, so a quote normalises in a few tens of
microseconds. Frames that are not quote requests (subscription acks, ``quote_status``
settlement notices, other JSON-RPC traffic) return ``None``; a quote request that cannot be
normalised raises ``NormalizeError`` with a stable code, which the ingest sends to the DLQ.

The relay has sent quote requests in two shapes, both accepted:

- live (nested): ``{"method": "event", "params": {"subscription": ..., "data": {<quote>},
  "metadata": {...}}}``
- documented / legacy (flat): ``{"method": "subscribe" | "event", "params": {"subscription":
  ..., <quote fields>}}``
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal

from pydantic import ValidationError

from unrip.contracts.payloads import (
    MAX_ASSET_ID_CHARS,
    MAX_ID_CHARS,
    MAX_WINDOW_MS,
    SwapDemandV1,
)
from unrip.venues import sources
from unrip.venues.near_intents.assets import AssetIdError, check_asset_id
from unrip.venues.near_intents.schemas import NearIntentsQuoteEventV1

# The relay's documented default when a request does not say how long a quote must stay valid.
DEFAULT_MIN_DEADLINE_MS: Final = 60_000
# Token amounts settle as NEAR u128 balances; a longer digit string can never be settled and
# would only cost time to parse.
_U128_MAX: Final = (1 << 128) - 1
_U128_DIGITS: Final = len(str(_U128_MAX))

# A quote event is well under 2 KiB; a frame of 256 KiB is not one worth parsing.
MAX_FRAME_CHARS: Final = 256 * 1024
# The relay's quote ids are 44-character hashes; the contracts refuse ids over 256.
MAX_QUOTE_ID_CHARS: Final = MAX_ID_CHARS
MAX_ASSET_ID: Final = MAX_ASSET_ID_CHARS

_EVENT_METHODS: Final = frozenset({"event", "subscribe"})
_QUOTE_MARKERS: Final = (
    "defuse_asset_identifier_in",
    "defuse_asset_identifier_out",
    "exact_amount_in",
    "exact_amount_out",
)

Source = Literal["relay", "file"]


class NormalizeError(sources.NormalizeError):
    """A quote event that cannot become a demand. ``code`` is stable, ``detail`` is prose.

    Codes: ``not_json``, ``not_an_object``, ``missing_field``, ``bad_field_type``,
    ``no_amount``, ``both_amounts``, ``non_integer_amount``, ``non_positive_amount``,
    ``amount_out_of_range``, ``same_asset``, ``unknown_asset_id_form``, ``invalid_asset_id``,
    ``bad_min_deadline``, ``invalid_demand``, ``too_large``, ``too_deep``, ``field_too_long``.
    """


@dataclass(frozen=True, slots=True)
class NormalizedQuote:
    """A quote request as the raw-topic payload and as the canonical demand."""

    raw: NearIntentsQuoteEventV1
    demand: SwapDemandV1
    quote_id: str


def normalize(
    text: str,
    *,
    observed_at: datetime,
    source: Source,
    response_window_ms: int,
) -> NormalizedQuote | None:
    """Normalise one frame; ``None`` if it is not a quote request.

    The demand's ``deadline`` is ``observed_at`` plus the response window, shortened to the
    auction's ``max_wait_ms`` when the event announces one: the relay closes the auction by
    then and refuses later responses.
    """
    if observed_at.utcoffset() is None:
        raise ValueError("observed_at must be timezone-aware")
    if len(text) > MAX_FRAME_CHARS:
        raise NormalizeError("too_large", f"{len(text)} characters > {MAX_FRAME_CHARS}")
    try:
        message = json.loads(text)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise NormalizeError("not_json", str(exc)) from None
    except RecursionError:  # [ x 100,000: deeper than the parser follows
        raise NormalizeError("too_deep", "JSON nested deeper than the parser follows") from None
    if not isinstance(message, dict):
        raise NormalizeError("not_an_object", f"JSON {type(message).__name__}, not an object")
    if message.get("method") not in _EVENT_METHODS:
        return None  # a JSON-RPC response (subscription ack, quote_response result), a ping...
    params = message.get("params")
    if not isinstance(params, dict):
        return None  # e.g. our own outgoing subscribe request, params being a list
    data = params.get("data")
    fields: dict[str, Any] = data if isinstance(data, dict) else params
    if not any(marker in fields for marker in _QUOTE_MARKERS):
        return None  # quote_status (quote_hash, intent_hash, tx_hash) or an unknown event
    return _normalize_quote(
        fields,
        subscription=params.get("subscription"),
        observed_at=observed_at,
        source=source,
        response_window_ms=response_window_ms,
    )


def _normalize_quote(
    fields: dict[str, Any],
    *,
    subscription: object,
    observed_at: datetime,
    source: Source,
    response_window_ms: int,
) -> NormalizedQuote:
    quote_id = _required_str(fields, "quote_id", MAX_QUOTE_ID_CHARS)
    asset_in = _asset(fields, "defuse_asset_identifier_in")
    asset_out = _asset(fields, "defuse_asset_identifier_out")
    if asset_in == asset_out:
        raise NormalizeError("same_asset", f"both sides are {asset_in}")
    exact_in = fields.get("exact_amount_in")
    exact_out = fields.get("exact_amount_out")
    if exact_in is None and exact_out is None:
        raise NormalizeError("no_amount", "neither exact_amount_in nor exact_amount_out is set")
    if exact_in is not None and exact_out is not None:
        raise NormalizeError("both_amounts", "exact_amount_in and exact_amount_out are both set")
    amount_in = None if exact_in is None else _amount("exact_amount_in", exact_in)
    amount_out = None if exact_out is None else _amount("exact_amount_out", exact_out)
    min_deadline_ms = _min_deadline_ms(fields.get("min_deadline_ms"))
    window_ms = response_window_ms
    max_wait_ms = fields.get("max_wait_ms")
    if type(max_wait_ms) is int and 0 < max_wait_ms < window_ms:
        window_ms = max_wait_ms
    try:
        raw = NearIntentsQuoteEventV1(
            source=source,
            subscription=(
                subscription
                if isinstance(subscription, str) and 0 < len(subscription) <= MAX_ID_CHARS
                else None
            ),
            quote_id=quote_id,
        )
        demand = SwapDemandV1(
            quote_id=quote_id,
            asset_in=asset_in,
            asset_out=asset_out,
            exact_amount_in=amount_in,
            exact_amount_out=amount_out,
            deadline=observed_at + timedelta(milliseconds=window_ms),
            min_deadline_ms=min_deadline_ms,
        )
    except ValidationError as exc:  # every rule is checked above; this is a safety net
        raise NormalizeError("invalid_demand", str(exc.errors()[0]["msg"])) from None
    return NormalizedQuote(raw=raw, demand=demand, quote_id=quote_id)


def _required_str(fields: dict[str, Any], name: str, max_chars: int) -> str:
    value = fields.get(name)
    if value is None:
        raise NormalizeError("missing_field", f"{name} is missing")
    if not isinstance(value, str) or not value:
        raise NormalizeError(
            "bad_field_type", f"{name} must be a non-empty string: {_short(value)}"
        )
    if len(value) > max_chars:
        raise NormalizeError("field_too_long", f"{name} has {len(value)} characters > {max_chars}")
    return value


def _short(value: object) -> str:
    # A rejected value in a detail line, cut: a hostile frame must not fill the DLQ's detail.
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:80]}..."


def _asset(fields: dict[str, Any], name: str) -> str:
    value = _required_str(fields, name, MAX_ASSET_ID)
    try:
        return check_asset_id(value)
    except AssetIdError as exc:
        raise NormalizeError(exc.code, f"{name}: {exc.detail}") from None


def _amount(name: str, value: object) -> int:
    # The wire carries base units as decimal strings (24-decimal tokens exceed 2**53); a JSON
    # integer is the same number, anything else (floats, exponents, signs, blanks) is not.
    if type(value) is int:
        amount = value
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        if len(value) > _U128_DIGITS:
            raise NormalizeError("amount_out_of_range", f"{name} has {len(value)} digits")
        amount = int(value)
    elif (
        isinstance(value, str) and value[:1] == "-" and value[1:].isascii() and value[1:].isdigit()
    ):
        raise NormalizeError("non_positive_amount", f"{name} is negative: {_short(value)}")
    else:
        raise NormalizeError(
            "non_integer_amount", f"{name} must be a decimal string of base units: {_short(value)}"
        )
    if amount <= 0:
        raise NormalizeError("non_positive_amount", f"{name} must be positive: {value!r}")
    if amount > _U128_MAX:
        raise NormalizeError("amount_out_of_range", f"{name} exceeds u128: {_short(value)}")
    return amount


def _min_deadline_ms(value: object) -> int:
    if value is None:
        return DEFAULT_MIN_DEADLINE_MS
    if type(value) is int and 0 <= value <= MAX_WINDOW_MS:
        return value
    if (
        isinstance(value, str)
        and value.isascii()
        and value.isdigit()
        and len(value) <= 12
        and int(value) <= MAX_WINDOW_MS
    ):
        return int(value)
    raise NormalizeError(
        "bad_min_deadline",
        f"min_deadline_ms must be an integer from 0 to {MAX_WINDOW_MS}: {_short(value)}",
    )
