"""The paper venue's HTTP API schemas (shared by the server and the executor's client)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from unrip.contracts.envelope import UtcDatetime
from unrip.contracts.payloads import BaseUnits
from unrip.venues.base import OrderStatus, VenueOrder, VenueOutcome

MAX_BATCH = 1000


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class OrderIn(_Model):
    client_order_id: str = Field(min_length=1, max_length=64)
    command_id: str = Field(min_length=1)
    quote_id: str
    asset_in: str
    asset_out: str
    amount_in: BaseUnits
    amount_out: BaseUnits
    deadline: UtcDatetime
    quote_validity_ms: int = Field(ge=0)

    @classmethod
    def of(cls, order: VenueOrder) -> OrderIn:
        return cls(
            client_order_id=order.client_order_id,
            command_id=order.command_id,
            quote_id=order.quote_id,
            asset_in=order.asset_in,
            asset_out=order.asset_out,
            amount_in=order.amount_in,
            amount_out=order.amount_out,
            deadline=order.deadline,
            quote_validity_ms=order.quote_validity_ms,
        )

    def to_order(self) -> VenueOrder:
        return VenueOrder(
            self.client_order_id,
            self.command_id,
            self.quote_id,
            self.asset_in,
            self.asset_out,
            self.amount_in,
            self.amount_out,
            self.deadline,
            self.quote_validity_ms,
        )


class OutcomeOut(_Model):
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
        return cls(
            client_order_id=outcome.client_order_id,
            status=outcome.status,
            amount_in=outcome.amount_in,
            amount_out=outcome.amount_out,
            executed_at=outcome.executed_at,
            venue_reference=outcome.venue_reference,
            reason=outcome.reason,
            duplicate=outcome.duplicate,
        )

    def to_outcome(self) -> VenueOutcome:
        return VenueOutcome(
            self.client_order_id,
            self.status,
            self.amount_in,
            self.amount_out,
            self.executed_at,
            self.venue_reference,
            self.reason,
            self.duplicate,
        )


class SubmitRequest(_Model):
    orders: list[OrderIn] = Field(min_length=1, max_length=MAX_BATCH)


class SubmitResponse(_Model):
    outcomes: list[OutcomeOut]


class LookupRequest(_Model):
    client_order_ids: list[str] = Field(min_length=1, max_length=MAX_BATCH)


class LookupResponse(_Model):
    outcomes: dict[str, OutcomeOut]
