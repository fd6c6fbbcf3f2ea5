"""Fuzzing the two doors hostile bytes come through: ``decode`` (every consumer's input) and
the NEAR Intents normaliser (the relay's frames). Whatever arrives, the only exception that
may leave them is their own contract error, which the consumers dead-letter; anything else
would be a crash loop on a partition.

Each test runs ``CASES`` generated inputs (5,000 each: 10,000 hostile inputs in all, as the
issue asks; ``UNRIP_FUZZ_CASES`` raises it for a longer hunt), drawn from: arbitrary bytes,
arbitrary JSON, nesting far deeper than any parser follows, and valid records with one field
replaced by something hostile (including 300-600 kB values).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from unrip.contracts import ContractError, decode, encode, make_envelope
from unrip.contracts.codec import Headers
from unrip.venues.near_intents.normalizer import NormalizeError, normalize

from tests.factories import command, demand

CASES = int(os.environ.get("UNRIP_FUZZ_CASES", "5000"))
_FUZZ = settings(
    max_examples=CASES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
OBSERVED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(1 << 200), max_value=1 << 200),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(["", "0", "-1", "1e999", "nep141:wrap.near", "9" * 60, "long"]),
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=12,
)


@st.composite
def _deep(draw: st.DrawFn) -> str:
    depth = draw(st.integers(min_value=900, max_value=120_000))
    opener = draw(st.sampled_from(["[", '{"a":', '{"payload":', '{"params":{"data":']))
    return opener * depth


def _mutated(document: dict[str, Any], path: list[str], value: Any) -> dict[str, Any]:
    copy: dict[str, Any] = json.loads(json.dumps(document))
    target: Any = copy
    for key in path[:-1]:
        target = target.setdefault(key, {}) if isinstance(target, dict) else target
    if isinstance(target, dict):
        target[path[-1]] = value
    return copy


def _paths(document: dict[str, Any], prefix: list[str] | None = None) -> list[list[str]]:
    prefix = prefix or []
    found = []
    for key, value in document.items():
        found.append([*prefix, key])
        if isinstance(value, dict):
            found.extend(_paths(value, [*prefix, key]))
    return found


_DEMAND = json.loads(encode(make_envelope(demand(), venue="near_intents", observed_at=OBSERVED))[0])
_COMMAND = json.loads(
    encode(make_envelope(command(), venue="near_intents", observed_at=OBSERVED))[0]
)
_HEADERS = st.one_of(
    st.none(),
    st.lists(
        st.tuples(
            st.sampled_from(["event_type", "schema_version", "event_id", "x"]),
            st.one_of(
                st.sampled_from([b"swap_demand", b"execute_trade", b"1", b"2", b"99", b"-1"]),
                st.binary(max_size=20),
            ),
        ),
        max_size=4,
    ),
)


@st.composite
def _records(draw: st.DrawFn) -> bytes:
    kind = draw(st.integers(min_value=0, max_value=4))
    if kind == 0:
        return draw(st.binary(max_size=300))
    if kind == 1:
        return json.dumps(draw(_JSON)).encode()
    if kind == 2:
        return draw(_deep()).encode()
    base = _DEMAND if kind == 3 else _COMMAND
    path = draw(st.sampled_from(_paths(base)))
    value = draw(st.one_of(_JSON, _deep().map(lambda _: "x" * 300_000)))
    return json.dumps(_mutated(base, path, value)).encode()


@pytest.mark.timeout(1200)  # ~15 s of CPU; far longer on a shared, loaded machine
@_FUZZ
@given(value=_records(), headers=_HEADERS)
def test_decode_raises_nothing_but_contract_errors_on_hostile_records(
    value: bytes, headers: Headers | None
) -> None:
    try:
        envelope = decode(value, headers)
    except ContractError as exc:
        assert exc.code and len(exc.detail) < 5000
        return
    # Whatever was accepted re-encodes and decodes to the same event.
    again = decode(*encode(envelope))
    assert again == envelope


_QUOTE: dict[str, Any] = {
    "quote_id": "6a4f4d0e-9c5b-4b7e-8a0f-0d9b1f7e2c33",
    "defuse_asset_identifier_in": "nep141:wrap.near",
    "defuse_asset_identifier_out": "nep141:usdt.tether-token.near",
    "exact_amount_in": "12500000000000000000000000",
    "min_deadline_ms": 60000,
    "max_wait_ms": 1000,
}


@st.composite
def _frames(draw: st.DrawFn) -> str:
    kind = draw(st.integers(min_value=0, max_value=4))
    if kind == 0:
        return draw(st.text(max_size=300))
    if kind == 1:
        return json.dumps(draw(_JSON))
    if kind == 2:
        return draw(_deep())
    fields = dict(_QUOTE)
    for key in draw(st.lists(st.sampled_from([*_QUOTE, "extra"]), min_size=1, max_size=3)):
        fields[key] = draw(st.one_of(_JSON, st.just("q" * 600_000)))
    params: dict[str, Any] = (
        {"subscription": draw(_JSON), "data": fields}
        if kind == 3
        else {"subscription": "s", **fields}
    )
    return json.dumps({"jsonrpc": "2.0", "method": "event", "params": params})


@pytest.mark.timeout(1200)
@_FUZZ
@given(text=_frames())
def test_the_normaliser_raises_nothing_but_normalize_errors_on_hostile_frames(text: str) -> None:
    try:
        quote = normalize(text, observed_at=OBSERVED, source="relay", response_window_ms=5000)
    except NormalizeError as exc:
        assert exc.code and len(exc.detail) < 5000
        return
    if quote is None:
        return  # not a quote request (acks, statuses)
    # An accepted frame is a demand every consumer accepts.
    envelope = make_envelope(quote.demand, venue="near_intents", observed_at=OBSERVED)
    assert decode(*encode(envelope)).payload == quote.demand
