"""The paper venue's HTTP API schemas (shared by the server and the executor's client)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from unrip.contracts.envelope import UtcDatetime
from unrip.contracts.payloads import BaseUnits, SwapKind
from unrip.venues.base import OrderStatus, VenueOrder, VenueOutcome

MAX_BATCH = 1000


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Boundary(_Model):
    """A venue boundary type on the wire: built from the dataclass by field name."""

    model_config = ConfigDict(frozen=True, extra="forbid", from_attributes=True)


class OrderIn(_Boundary):
    client_order_id: str = Field(min_length=1, max_length=64)
    command_id: str = Field(min_length=1)
    quote_id: str
    asset_in: str
    asset_out: str
    amount_in: BaseUnits
    amount_out: BaseUnits
    deadline: UtcDatetime
    quote_validity_ms: int = Field(ge=0)
    kind: SwapKind | None = None

    @classmethod
    def of(cls, order: VenueOrder) -> OrderIn:
        return cls.model_validate(order)

    def to_order(self) -> VenueOrder:
        return VenueOrder(**dict(self))


class OutcomeOut(_Boundary):
    client_order_id: str
    status: OrderStatus
    amount_in: BaseUnits
    amount_out: BaseUnits
    executed_at: UtcDatetime
    venue_reference: str | None = None
    reason: str | None = None
    duplicate: bool = False

    @classmethod
    def of(cls, outcome: VenueOutcome) -> OutcomeOut:
        return cls.model_validate(outcome)

    def to_outcome(self) -> VenueOutcome:
        return VenueOutcome(**dict(self))


class SubmitRequest(_Model):
    orders: list[OrderIn] = Field(min_length=1, max_length=MAX_BATCH)


class SubmitResponse(_Model):
    outcomes: list[OutcomeOut]


class LookupRequest(_Model):
    client_order_ids: list[str] = Field(min_length=1, max_length=MAX_BATCH)


class LookupResponse(_Model):
    outcomes: dict[str, OutcomeOut]
