"""Wire codec: JSON envelopes with routing headers, and the schema registry.

A consumer never crashes on a bad record: ``decode`` raises ``ContractError`` with a reason
code, and the consumer sends the record to its DLQ and moves on. That holds for hostile
records too: a value larger than ``MAX_RECORD_BYTES`` is refused before parsing
(``too_large``), JSON nested deeper than the parsers can follow (``[`` x 100,000 makes the
standard library raise RecursionError) is ``too_deep``, and anything else a parser or a
validator throws is ``undecodable``: nothing but ``ContractError`` leaves ``decode``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, Final

from pydantic import ValidationError

from unrip.contracts.envelope import Envelope, Payload, envelope_type
from unrip.contracts.payloads import (
    DeadLetterV1,
    DeadLetterV2,
    ExecuteTradeV1,
    LedgerEntryV1,
    MonitorStateV1,
    ReactorSkipV1,
    ReactorStateV1,
    ReferencePriceV1,
    RiskTripV1,
    SwapDemandV1,
    TradeResultV1,
)

Headers = Sequence[tuple[str, bytes]]

# The broker's default record limit (message.max.bytes, 1 MiB): nothing larger can have been
# produced by unrip, and nothing larger is worth parsing.
MAX_RECORD_BYTES: Final = 1 << 20
MAX_DETAIL_CHARS: Final = 1000

_REGISTRY: dict[tuple[str, int], type[Payload]] = {}


def register(*payload_types: type[Payload]) -> None:
    """Make schemas decodable. A (type, version) pair can only ever mean one class."""
    for payload_type in payload_types:
        key = (payload_type.EVENT_TYPE, payload_type.SCHEMA_VERSION)
        existing = _REGISTRY.get(key)
        if existing is not None and existing is not payload_type:
            raise ValueError(f"schema {key} is already registered to {existing.__name__}")
        _REGISTRY[key] = payload_type


register(
    SwapDemandV1,
    ExecuteTradeV1,
    TradeResultV1,
    ReactorSkipV1,
    ReferencePriceV1,
    RiskTripV1,
    LedgerEntryV1,
    MonitorStateV1,
    ReactorStateV1,
    DeadLetterV1,
    DeadLetterV2,
)


def registered() -> dict[tuple[str, int], type[Payload]]:
    return dict(_REGISTRY)


class ContractError(ValueError):
    """A record that does not satisfy the contract; ``code`` is stable, ``detail`` is prose.

    The detail is cut to ``MAX_DETAIL_CHARS``: it quotes the record, which may be hostile.
    """

    def __init__(self, code: str, detail: str) -> None:
        if len(detail) > MAX_DETAIL_CHARS:
            detail = f"{detail[:MAX_DETAIL_CHARS]}...(+{len(detail) - MAX_DETAIL_CHARS} chars)"
        super().__init__(f"{code}: {detail}")
        self.code: Final = code
        self.detail: Final = detail


def encode(envelope: Envelope[Any]) -> tuple[bytes, list[tuple[str, bytes]]]:
    """Value and headers for a Kafka record."""
    return envelope.to_bytes(), envelope.header_pairs()


def _header(headers: Headers | None, name: str) -> str | None:
    for key, value in headers or ():
        if key == name:
            return value.decode("utf-8", errors="replace")
    return None


def _identify(value: bytes, headers: Headers | None) -> tuple[str, int, dict[str, Any] | None]:
    event_type = _header(headers, "event_type")
    version_text = _header(headers, "schema_version")
    if event_type is not None and version_text is not None:
        try:
            return event_type, int(version_text), None
        except ValueError:
            raise ContractError("bad_header", f"schema_version header {version_text!r}") from None
    try:
        body = json.loads(value)
    except ValueError as exc:
        raise ContractError("not_json", str(exc)) from None
    if not isinstance(body, dict):
        raise ContractError("not_an_envelope", f"JSON {type(body).__name__}, not an object")
    event_type, version = body.get("event_type"), body.get("schema_version")
    if not isinstance(event_type, str) or not isinstance(version, int):
        raise ContractError("missing_schema", "no event_type/schema_version in headers or body")
    return event_type, version, body


def decode(
    value: bytes | None,
    headers: Headers | None = None,
    *,
    accept: Iterable[type[Payload]] | None = None,
) -> Envelope[Any]:
    """Parse and validate one record; ``accept`` limits the payload classes a consumer takes."""
    if not value:
        raise ContractError("empty", "record has no value")
    if len(value) > MAX_RECORD_BYTES:
        raise ContractError("too_large", f"{len(value)} bytes > {MAX_RECORD_BYTES}")
    try:
        return _decode(value, headers, accept)
    except ContractError:
        raise
    except RecursionError:
        raise ContractError("too_deep", "JSON nested deeper than the parser follows") from None
    except Exception as exc:  # a parser or validator bug must not become a consumer crash
        raise ContractError("undecodable", f"{type(exc).__name__}: {str(exc)[:200]}") from None


def _decode(
    value: bytes, headers: Headers | None, accept: Iterable[type[Payload]] | None
) -> Envelope[Any]:
    event_type, version, body = _identify(value, headers)
    payload_type = _REGISTRY.get((event_type, version))
    if payload_type is None:
        known = sorted(v for (t, v) in _REGISTRY if t == event_type)
        if known:
            raise ContractError(
                "unknown_schema_version",
                f"{event_type} v{version} is not known here (known: {known})",
            )
        raise ContractError("unknown_event_type", f"{event_type!r} is not a registered schema")
    if accept is not None and payload_type not in set(accept):
        raise ContractError("unexpected_event_type", f"{event_type} v{version} not accepted here")
    model = envelope_type(payload_type)
    try:
        envelope = (
            model.model_validate(body) if body is not None else model.model_validate_json(value)
        )
    except ValidationError as exc:
        if body is None:
            _check_body_agrees(value, event_type, version)
        raise ContractError("invalid", _summarise(exc)) from None
    if envelope.event_type != event_type or envelope.schema_version != version:
        raise ContractError(
            "header_mismatch",
            f"headers say {event_type} v{version}, body says "
            f"{envelope.event_type} v{envelope.schema_version}",
        )
    return envelope


def _check_body_agrees(value: bytes, event_type: str, version: int) -> None:
    """On a record that failed its headers' schema: was it another schema altogether?"""
    try:
        body = json.loads(value)
    except ValueError:
        return
    if not isinstance(body, dict):
        return
    said = (body.get("event_type"), body.get("schema_version"))
    if said != (event_type, version):
        raise ContractError(
            "header_mismatch",
            f"headers say {event_type} v{version}, body says {said[0]} v{said[1]}",
        )


def _summarise(exc: ValidationError, limit: int = 5) -> str:
    parts = []
    for error in exc.errors()[:limit]:
        location = ".".join(str(p) for p in error["loc"]) or "<root>"
        parts.append(f"{location}: {error['msg']}")
    more = exc.error_count() - limit
    if more > 0:
        parts.append(f"(+{more} more)")
    return "; ".join(parts)
