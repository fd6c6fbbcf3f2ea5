"""The event envelope: every record on every topic is one of these, serialised as JSON.

Immutable (frozen), strict (unknown fields are rejected, so a producer bug is caught at the
first consumer rather than silently dropped) and generic over its payload model.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from unrip.contracts.ids import new_event_id


def _require_utc(value: datetime) -> datetime:
    if value.tzinfo is UTC:
        return value  # already what this returns; the common case, and on every hot path
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamps must carry a timezone (UTC)")
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_require_utc)]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Schema(BaseModel):
    """Base of every schema part: immutable and strict (unknown fields are errors)."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Payload(Schema):
    """Base of every payload schema. ``(EVENT_TYPE, SCHEMA_VERSION)`` identifies the schema."""

    EVENT_TYPE: ClassVar[str]
    SCHEMA_VERSION: ClassVar[int]


P = TypeVar("P", bound=Payload)


class Envelope(BaseModel, Generic[P]):
    """One immutable event. See docs/contracts.md for every field."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Ids are bounded (256 characters) so a forged record cannot multiply a megabyte through
    # every stage; real ones are 36-character UUIDs and short venue names.
    event_id: str = Field(min_length=1, max_length=256, description="UUIDv7, time-ordered")
    event_type: str = Field(min_length=1, max_length=256)
    schema_version: int = Field(ge=1)
    venue: str = Field(min_length=1, max_length=256)
    observed_at: UtcDatetime = Field(description="when the fact happened / was first seen")
    ingested_at: UtcDatetime = Field(description="when unrip produced this event")
    correlation_id: str | None = Field(
        default=None, max_length=256, description="the originating demand's id"
    )
    causation_id: str | None = Field(
        default=None, max_length=256, description="the event that caused this one"
    )
    payload: P
    raw: str | None = Field(default=None, description="venue-native message, exactly as received")

    def header_pairs(self) -> list[tuple[str, bytes]]:
        """Kafka headers that let a consumer route the record without parsing it."""
        headers = [
            ("event_type", self.event_type.encode()),
            ("schema_version", str(self.schema_version).encode()),
            ("event_id", self.event_id.encode()),
        ]
        if self.correlation_id:
            headers.append(("correlation_id", self.correlation_id.encode()))
        return headers

    def to_bytes(self) -> bytes:
        # The serializer's own bytes: model_dump_json would decode them to str, and the
        # caller encode them back, for every record.
        return self.__pydantic_serializer__.to_json(self, exclude_none=True)


_ENVELOPE_TYPES: dict[type[Payload], type[Envelope[Any]]] = {}


def envelope_type(payload_type: type[P]) -> type[Envelope[P]]:
    """``Envelope[payload_type]``, made once per payload class and kept.

    pydantic holds its parametrised models only weakly: one that nothing else references is
    rebuilt (schema, validator, serializer) after the next full garbage collection, on the
    hot path, and even a cached ``Envelope[X]`` costs ~4 µs per lookup. Payload classes are
    few and live as long as the process, so holding each envelope class is bounded.
    """
    model = _ENVELOPE_TYPES.get(payload_type)
    if model is None:
        model = _ENVELOPE_TYPES[payload_type] = Envelope[payload_type]  # type: ignore[valid-type]
    return model


def make_envelope(
    payload: P,
    *,
    venue: str,
    observed_at: datetime,
    correlation_id: str | None = None,
    causation_id: str | None = None,
    raw: str | None = None,
    event_id: str | None = None,
    ingested_at: datetime | None = None,
) -> Envelope[P]:
    """Wrap a payload; the event type and schema version come from the payload's class."""
    return envelope_type(type(payload))(
        event_id=event_id or new_event_id(),
        event_type=payload.EVENT_TYPE,
        schema_version=payload.SCHEMA_VERSION,
        venue=venue,
        observed_at=observed_at,
        ingested_at=ingested_at or utc_now(),
        correlation_id=correlation_id,
        causation_id=causation_id,
        payload=payload,
        raw=raw,
    )
