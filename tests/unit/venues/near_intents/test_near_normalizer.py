"""The normaliser: relay frames in both forms -> raw event + demand, or a stable rejection."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from unrip.contracts.payloads import SwapKind
from unrip.venues.near_intents.normalizer import (
    DEFAULT_MIN_DEADLINE_MS,
    NormalizedQuote,
    NormalizeError,
    normalize,
)

OBSERVED = datetime(2026, 3, 1, 12, 0, 0, 123000, tzinfo=UTC)
WNEAR = "nep141:wrap.near"
USDC = "nep141:17208628f84f5d6ad33f0da3bbbeb27ffcb398eac501a31bd6ad2011e36133a1"
SUB = "0b8a4a1e-0a7c-4d8c-9d5e-2f6a0e0c1d11"


def quote(**overrides: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "quote_id": "6a4f4d0e-9c5b-4b7e-8a0f-0d9b1f7e2c33",
        "defuse_asset_identifier_in": WNEAR,
        "defuse_asset_identifier_out": USDC,
        "exact_amount_in": "12500000000000000000000000",
        "min_deadline_ms": 60000,
    }
    fields.update(overrides)
    return {k: v for k, v in fields.items() if v is not _ABSENT}


_ABSENT: Any = object()


def nested(fields: dict[str, Any]) -> str:
    params = {"subscription": SUB, "data": fields, "metadata": {"partner_id": "1click"}}
    return json.dumps({"jsonrpc": "2.0", "method": "event", "params": params})


def flat(fields: dict[str, Any]) -> str:
    return json.dumps(
        {"jsonrpc": "2.0", "method": "subscribe", "params": {"subscription": SUB, **fields}}
    )


def run(text: str, window_ms: int = 1000) -> NormalizedQuote | None:
    return normalize(text, observed_at=OBSERVED, source="relay", response_window_ms=window_ms)


def must(text: str, window_ms: int = 1000) -> NormalizedQuote:
    result = run(text, window_ms)
    assert result is not None
    return result


def test_live_nested_exact_in_becomes_a_demand() -> None:
    result = must(nested(quote()))

    demand = result.demand
    assert result.quote_id == demand.quote_id == "6a4f4d0e-9c5b-4b7e-8a0f-0d9b1f7e2c33"
    assert (demand.asset_in, demand.asset_out) == (WNEAR, USDC)
    assert demand.kind is SwapKind.EXACT_IN
    assert demand.exact_amount_in == 12_500_000_000_000_000_000_000_000
    assert demand.exact_amount_out is None
    assert demand.min_deadline_ms == 60000
    assert demand.deadline == OBSERVED + timedelta(milliseconds=1000)
    assert result.raw.source == "relay"
    assert result.raw.subscription == SUB
    assert result.raw.quote_id == demand.quote_id


def test_documented_flat_form_exact_out_becomes_a_demand() -> None:
    fields = quote(exact_amount_in=_ABSENT, exact_amount_out="2500000", min_deadline_ms="120000")
    result = normalize(flat(fields), observed_at=OBSERVED, source="file", response_window_ms=800)

    assert result is not None
    assert result.demand.kind is SwapKind.EXACT_OUT
    assert result.demand.exact_amount_out == 2_500_000
    assert result.demand.min_deadline_ms == 120000
    assert result.raw.source == "file"
    assert result.raw.subscription == SUB


def test_both_forms_of_the_same_request_normalise_identically() -> None:
    assert must(nested(quote())).demand == must(flat(quote())).demand


def test_deadline_is_shortened_to_the_auction_close() -> None:
    # A router sub-leg closes after max_wait_ms: answering later is pointless.
    short = must(nested(quote(max_wait_ms=300)), window_ms=1000)
    long = must(nested(quote(max_wait_ms=3000)), window_ms=1000)

    assert short.demand.deadline == OBSERVED + timedelta(milliseconds=300)
    assert long.demand.deadline == OBSERVED + timedelta(milliseconds=1000)


def test_missing_min_deadline_gets_the_relay_default() -> None:
    result = must(nested(quote(min_deadline_ms=_ABSENT)))
    assert result.demand.min_deadline_ms == DEFAULT_MIN_DEADLINE_MS


def test_json_integer_amount_is_the_same_amount() -> None:
    assert must(nested(quote(exact_amount_in=1000))).demand.exact_amount_in == 1000


@pytest.mark.parametrize(
    "asset",
    ["nep171:nft.example.near:token-1", "nep245:v2_1.omni.hot.tg:56_11111111111111111111"],
)
def test_nft_and_multi_token_asset_ids_are_accepted(asset: str) -> None:
    assert must(nested(quote(defuse_asset_identifier_out=asset))).demand.asset_out == asset


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(json.dumps({"jsonrpc": "2.0", "id": 1, "result": SUB}), id="subscribe-ack"),
        pytest.param(
            json.dumps({"jsonrpc": "2.0", "id": 7, "result": "OK"}), id="quote-response-ok"
        ),
        pytest.param(
            json.dumps({"jsonrpc": "2.0", "id": 8, "error": {"code": -1, "message": "late"}}),
            id="error-reply",
        ),
        pytest.param(
            nested({"quote_hash": "abc", "intent_hash": "def", "tx_hash": "ghi"}), id="quote-status"
        ),
        pytest.param(flat({"quote_hash": "abc", "intent_hash": "def"}), id="quote-status-flat"),
        pytest.param(
            json.dumps({"jsonrpc": "2.0", "id": 1, "method": "subscribe", "params": ["quote"]}),
            id="own-subscribe-request",
        ),
        pytest.param(json.dumps({"method": "ping"}), id="ping"),
        pytest.param(nested({"something": "new"}), id="unknown-event"),
    ],
)
def test_frames_that_are_not_quote_requests_are_skipped(text: str) -> None:
    assert run(text) is None


CODES = set(re.findall(r"``(\w+)``", (NormalizeError.__doc__ or "").partition("Codes:")[2]))

REJECTIONS = [
    ("not_json", '{"jsonrpc":"2.0","method":"event","params":{"data":{"quote_id":'),
    ("not_an_object", "[1, 2, 3]"),
    ("missing_field", nested(quote(quote_id=_ABSENT))),
    ("missing_field", nested(quote(defuse_asset_identifier_out=_ABSENT))),
    ("bad_field_type", nested(quote(quote_id=17))),
    ("bad_field_type", nested(quote(defuse_asset_identifier_in=""))),
    ("no_amount", nested(quote(exact_amount_in=_ABSENT))),
    ("no_amount", nested(quote(exact_amount_in=None, exact_amount_out=None))),
    ("both_amounts", nested(quote(exact_amount_out="5"))),
    ("non_integer_amount", nested(quote(exact_amount_in="12.5"))),
    ("non_integer_amount", nested(quote(exact_amount_in="1e21"))),
    ("non_integer_amount", nested(quote(exact_amount_in=" 12"))),
    ("non_integer_amount", nested(quote(exact_amount_in=""))),
    ("non_integer_amount", nested(quote(exact_amount_in=12.5))),
    ("non_integer_amount", nested(quote(exact_amount_in=True))),
    ("non_integer_amount", nested(quote(exact_amount_in="١٢"))),  # Arabic-Indic digits
    ("non_positive_amount", nested(quote(exact_amount_in="0"))),
    ("non_positive_amount", nested(quote(exact_amount_in="-5"))),
    ("non_positive_amount", nested(quote(exact_amount_in=-5))),
    ("amount_out_of_range", nested(quote(exact_amount_in="9" * 40))),
    ("amount_out_of_range", nested(quote(exact_amount_in=str(2**128)))),
    ("same_asset", nested(quote(defuse_asset_identifier_out=WNEAR))),
    ("unknown_asset_id_form", nested(quote(defuse_asset_identifier_in="erc20:0xa0b8"))),
    ("unknown_asset_id_form", nested(quote(defuse_asset_identifier_in="wrap.near"))),
    ("invalid_asset_id", nested(quote(defuse_asset_identifier_in="nep141:Wrap.Near"))),
    ("invalid_asset_id", nested(quote(defuse_asset_identifier_in="nep141:a..near"))),
    ("invalid_asset_id", nested(quote(defuse_asset_identifier_in="nep245:contract.near"))),
    ("bad_min_deadline", nested(quote(min_deadline_ms="soon"))),
    ("bad_min_deadline", nested(quote(min_deadline_ms=-1))),
    ("bad_min_deadline", nested(quote(min_deadline_ms=86_400_001))),
    ("bad_min_deadline", nested(quote(min_deadline_ms="999999999999"))),
    ("too_large", nested(quote(padding="x" * (256 * 1024)))),
    ("too_deep", "[" * 100_000),
    ("too_deep", '{"method":"event","params":' + "[" * 100_000),
    ("field_too_long", nested(quote(quote_id="q" * 257))),
    ("field_too_long", nested(quote(defuse_asset_identifier_in="nep245:c.near:" + "t" * 600))),
]


@pytest.mark.parametrize(("code", "text"), REJECTIONS, ids=[c for c, _ in REJECTIONS])
def test_unusable_quote_requests_are_rejected_with_a_stable_code(code: str, text: str) -> None:
    with pytest.raises(NormalizeError) as caught:
        run(text)

    assert caught.value.code == code
    assert caught.value.detail
    assert isinstance(caught.value, ValueError)


def test_every_documented_code_is_exercised() -> None:
    # invalid_demand is the safety net behind the explicit checks; nothing reaches it.
    assert {code for code, _ in REJECTIONS} == CODES - {"invalid_demand"}


def test_naive_observation_time_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="timezone"):
        normalize(
            nested(quote()), observed_at=datetime(2026, 1, 1), source="relay", response_window_ms=1
        )


_ACCOUNT = st.from_regex(r"[a-z0-9]{2,10}(\.[a-z0-9]{1,10}){0,2}", fullmatch=True)
_ASSET = st.one_of(
    _ACCOUNT.map(lambda a: f"nep141:{a}"),
    st.tuples(_ACCOUNT, st.from_regex(r"[A-Za-z0-9_:-]{1,20}", fullmatch=True)).map(
        lambda t: f"nep245:{t[0]}:{t[1]}"
    ),
)


@given(
    asset_in=_ASSET,
    asset_out=_ASSET,
    amount=st.integers(min_value=1, max_value=2**128 - 1),
    exact_in=st.booleans(),
    as_flat=st.booleans(),
    window_ms=st.integers(min_value=1, max_value=60_000),
)
def test_any_valid_request_keeps_its_assets_and_amount(
    asset_in: str, asset_out: str, amount: int, exact_in: bool, as_flat: bool, window_ms: int
) -> None:
    fields = quote(defuse_asset_identifier_in=asset_in, defuse_asset_identifier_out=asset_out)
    del fields["exact_amount_in"]
    fields["exact_amount_in" if exact_in else "exact_amount_out"] = str(amount)
    text = flat(fields) if as_flat else nested(fields)
    if asset_in == asset_out:
        with pytest.raises(NormalizeError):
            run(text, window_ms)
        return

    demand = must(text, window_ms).demand

    assert (demand.asset_in, demand.asset_out) == (asset_in, asset_out)
    assert (demand.exact_amount_in if exact_in else demand.exact_amount_out) == amount
    assert demand.kind is (SwapKind.EXACT_IN if exact_in else SwapKind.EXACT_OUT)
    assert demand.deadline == OBSERVED + timedelta(milliseconds=window_ms)


def assert_normalised_or_rejected(text: str) -> None:
    try:
        result = run(text)
    except NormalizeError as exc:
        assert exc.code in CODES
    else:
        assert result is None or isinstance(result, NormalizedQuote)


@given(st.text(max_size=300))
def test_arbitrary_text_never_escapes_as_another_exception(text: str) -> None:
    assert_normalised_or_rejected(text)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=8),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=4),
        max_leaves=12,
    )
)
def test_arbitrary_quote_fields_never_escape_as_another_exception(junk: Any) -> None:
    fields = quote(exact_amount_in=junk) if not isinstance(junk, dict) else {**quote(), **junk}
    assert_normalised_or_rejected(nested(fields))
