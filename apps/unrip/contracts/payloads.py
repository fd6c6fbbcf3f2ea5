"""Payload schemas, one class per (event type, schema version).

A published schema version never changes. A change is a new class with the next version,
registered beside the old one (docs/contracts.md, "Evolving a schema").
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import BeforeValidator, Field, PlainSerializer, model_validator

from unrip.contracts.envelope import Payload, Schema, UtcDatetime


def _parse_base_units(value: object) -> object:
    # Token amounts are integers in base units; 24-decimal tokens exceed 2**53, so the wire
    # carries them as decimal strings. Accept exactly that (and plain ints), nothing fuzzy.
    if isinstance(value, bool):
        raise ValueError("amount must be an integer in base units, not a boolean")
    if isinstance(value, str):
        if not value.isascii() or not value.isdigit():
            raise ValueError("amount must be a decimal string of digits (base units)")
        return int(value)
    return value


BaseUnits = Annotated[
    int,
    BeforeValidator(_parse_base_units),
    Field(ge=0),
    PlainSerializer(str, return_type=str, when_used="json"),
]
PositiveBaseUnits = Annotated[BaseUnits, Field(gt=0)]
Usd = Annotated[
    Decimal, PlainSerializer(lambda d: format(d, "f"), return_type=str, when_used="json")
]


class SwapKind(StrEnum):
    EXACT_IN = "exact_in"  # the requester fixes what they give; we quote what they get
    EXACT_OUT = "exact_out"  # the requester fixes what they get; we quote what they give


# --- norm.* ------------------------------------------------------------------------------


class SwapDemandV1(Payload):
    """Someone wants to swap an exact amount of one asset for another (venue in envelope)."""

    EVENT_TYPE = "swap_demand"
    SCHEMA_VERSION = 1

    quote_id: str = Field(min_length=1)
    asset_in: str = Field(min_length=1, description="asset the requester gives (we receive)")
    asset_out: str = Field(min_length=1, description="asset the requester gets (we give)")
    exact_amount_in: PositiveBaseUnits | None = None
    exact_amount_out: PositiveBaseUnits | None = None
    deadline: UtcDatetime = Field(description="a response after this instant is worthless")
    min_deadline_ms: int = Field(ge=0, description="validity the requester needs on a quote")

    @model_validator(mode="after")
    def _one_exact_amount(self) -> Self:
        if (self.exact_amount_in is None) == (self.exact_amount_out is None):
            raise ValueError("exactly one of exact_amount_in / exact_amount_out must be set")
        if self.asset_in == self.asset_out:
            raise ValueError("asset_in and asset_out must differ")
        return self

    @property
    def kind(self) -> SwapKind:
        return SwapKind.EXACT_IN if self.exact_amount_in is not None else SwapKind.EXACT_OUT


# --- cmd.* -------------------------------------------------------------------------------


class Pricing(Schema):
    """The reference prices and spread a decision used."""

    price_in_usd: Usd
    price_out_usd: Usd
    decimals_in: int = Field(ge=0, le=36)
    decimals_out: int = Field(ge=0, le=36)
    spread_bps: int = Field(ge=0, le=10_000)


class LimitsApplied(Schema):
    """The risk limits a decision was checked against, and the state it was checked in."""

    max_notional_usd: Usd
    max_open_exposure_usd: Usd
    daily_loss_limit_usd: Usd
    open_exposure_usd_before: Usd
    daily_pnl_usd_before: Usd
    kill_switch: bool


class ExecuteTradeV1(Payload):
    """A decision to trade. ``command_id`` is the idempotency key (deterministic)."""

    EVENT_TYPE = "execute_trade"
    SCHEMA_VERSION = 1

    command_id: str = Field(min_length=1)
    client_order_id: str = Field(min_length=1)
    strategy_id: str = Field(min_length=1)
    quote_id: str = Field(min_length=1)
    kind: SwapKind
    asset_in: str
    asset_out: str
    amount_in: PositiveBaseUnits = Field(description="what the requester gives (we receive)")
    amount_out: PositiveBaseUnits = Field(description="what the requester gets (we give)")
    notional_usd: Usd
    expected_pnl_usd: Usd
    deadline: UtcDatetime
    quote_validity_ms: int = Field(ge=0)
    demand_observed_at: UtcDatetime
    pricing: Pricing
    limits: LimitsApplied


# --- exec.* ------------------------------------------------------------------------------


class TradeStatus(StrEnum):
    FILLED = "filled"
    NOT_FILLED = "not_filled"  # the venue did not take the order (e.g. auction lost)
    REJECTED = "rejected"  # refused before reaching the venue (invalid, limits, ...)
    EXPIRED = "expired"  # reached the executor after its deadline
    FAILED = "failed"  # the venue call failed terminally


class TradeResultV1(Payload):
    """The one outcome of one command."""

    EVENT_TYPE = "trade_result"
    SCHEMA_VERSION = 1

    command_id: str = Field(min_length=1)
    client_order_id: str = Field(min_length=1)
    quote_id: str
    status: TradeStatus
    reason: str | None = None
    asset_in: str
    asset_out: str
    amount_in: BaseUnits = Field(description="executed amount received (0 unless filled)")
    amount_out: BaseUnits = Field(description="executed amount given (0 unless filled)")
    notional_usd: Usd
    pnl_usd: Usd = Field(description="realised PnL at the decision's reference prices")
    venue_reference: str | None = None
    executed_at: UtcDatetime | None = None
    execution_venue: str = Field(description="where it was executed: paper, near_intents, ...")
    demand_observed_at: UtcDatetime
    venue_latency_ms: float | None = Field(default=None, ge=0)
    demand_to_outcome_ms: float = Field(description="from the demand being observed to here")
    reconciled: bool = Field(default=False, description="recovered from the venue after a crash")


# --- audit.* -----------------------------------------------------------------------------


class SkipReason(StrEnum):
    """Why the reactor did not trade a demand (docs/reactor.md explains each)."""

    KILL_SWITCH = "kill_switch"
    EXPIRED = "expired"
    UNPRICED_ASSET = "unpriced_asset"
    BELOW_MIN_NOTIONAL = "below_min_notional"
    MAX_NOTIONAL = "max_notional"
    MAX_OPEN_EXPOSURE = "max_open_exposure"
    DAILY_LOSS_LIMIT = "daily_loss_limit"
    QUOTE_VALIDITY_TOO_LONG = "quote_validity_too_long"


class ReactorSkipV1(Payload):
    EVENT_TYPE = "reactor_skip"
    SCHEMA_VERSION = 1

    quote_id: str
    reason: SkipReason
    detail: str
    notional_usd: Usd | None = None
    strategy_id: str


# --- state.* -----------------------------------------------------------------------------


class LedgerState(StrEnum):
    RECEIVED = "received"
    EXECUTING = "executing"
    SUBMITTED = "submitted"  # the venue accepted it; the outcome comes later (settlement)
    EXECUTED = "executed"
    FAILED = "failed"


class LedgerTransition(Schema):
    state: LedgerState
    at: UtcDatetime
    by: str = Field(description="executor instance that recorded it")


class LedgerEntryV1(Payload):
    """Latest state of one command in the executor ledger (compacted by command_id)."""

    EVENT_TYPE = "executor_ledger_entry"
    SCHEMA_VERSION = 1

    command_id: str
    client_order_id: str
    state: LedgerState
    transitions: tuple[LedgerTransition, ...]
    venue: str
    command_event_id: str
    correlation_id: str | None = None
    command: ExecuteTradeV1 | None = Field(default=None, description="absent for rejects")
    result_json: str | None = Field(default=None, description="the stored result envelope")


# --- dlq.* -------------------------------------------------------------------------------


class DeadLetterV1(Payload):
    """A record a consumer could not accept; the original value is in the envelope's ``raw``."""

    EVENT_TYPE = "dead_letter"
    SCHEMA_VERSION = 1

    source_topic: str
    source_partition: int | None = None
    source_offset: int | None = None
    source_key: str | None = None
    consumer: str
    reason_code: str
    detail: str
    raw_encoding: Literal["utf-8", "base64"]
    original_headers: dict[str, str] = Field(default_factory=dict)
