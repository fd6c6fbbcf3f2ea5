"""Payload schemas, one class per (event type, schema version).

A published schema version never changes. A change is a new class with the next version,
registered beside the old one (docs/contracts.md, "Evolving a schema").
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Final, Literal, Self

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
        if len(value) > 40:  # u128 has 39 digits; never convert a megabyte of digits
            raise ValueError("amount exceeds u128")
        return int(value)
    return value


# Bounds on every field a venue or a forger controls (docs/contracts.md, "Bounds"): a 600 kB
# quote id would otherwise be copied into the raw event, the demand, the command, the ledger
# and the result. Real values are far inside them (NEAR quote ids are 44-character hashes,
# asset ids an account of <= 64 characters and a token id).
MAX_ID_CHARS: Final = 256
MAX_ASSET_ID_CHARS: Final = 512
MAX_TEXT_CHARS: Final = 4096
# Amounts settle as NEAR u128 balances; a larger number can never be settled.
U128_MAX: Final = (1 << 128) - 1
# A quote validity or a deadline window longer than a day is a mistake or an attack.
MAX_WINDOW_MS: Final = 86_400_000

Id = Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS)]
AssetId = Annotated[str, Field(min_length=1, max_length=MAX_ASSET_ID_CHARS)]
Text = Annotated[str, Field(max_length=MAX_TEXT_CHARS)]
WindowMs = Annotated[int, Field(ge=0, le=MAX_WINDOW_MS)]

BaseUnits = Annotated[
    int,
    BeforeValidator(_parse_base_units),
    Field(ge=0, le=U128_MAX),
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

    quote_id: Id
    asset_in: AssetId = Field(description="asset the requester gives (we receive)")
    asset_out: AssetId = Field(description="asset the requester gets (we give)")
    exact_amount_in: PositiveBaseUnits | None = None
    exact_amount_out: PositiveBaseUnits | None = None
    deadline: UtcDatetime = Field(description="a response after this instant is worthless")
    min_deadline_ms: WindowMs = Field(description="validity the requester needs on a quote")

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


class ReferencePriceV1(Payload):
    """A venue's USD reference price for one asset, as observed (venue in the envelope).

    Published when the price changes and again every heartbeat interval even if it does
    not, so a consumer can tell "unchanged" from "the source went quiet" (staleness).
    """

    EVENT_TYPE = "reference_price"
    SCHEMA_VERSION = 1

    asset_id: str = Field(min_length=1, description="venue-qualified, e.g. nep141:wrap.near")
    symbol: str
    decimals: int = Field(ge=0, le=36)
    usd_price: Usd = Field(gt=0)
    price_updated_at: UtcDatetime | None = Field(
        default=None, description="when the venue says the price last changed"
    )
    heartbeat: bool = Field(default=False, description="unchanged since the last event")


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

    command_id: Id
    client_order_id: Id
    strategy_id: Id
    quote_id: Id
    kind: SwapKind
    asset_in: AssetId
    asset_out: AssetId
    amount_in: PositiveBaseUnits = Field(description="what the requester gives (we receive)")
    amount_out: PositiveBaseUnits = Field(description="what the requester gets (we give)")
    notional_usd: Usd
    expected_pnl_usd: Usd
    deadline: UtcDatetime
    quote_validity_ms: WindowMs
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

    command_id: Id
    client_order_id: Id
    quote_id: Id
    status: TradeStatus
    reason: Text | None = None
    asset_in: AssetId
    asset_out: AssetId
    amount_in: BaseUnits = Field(description="executed amount received (0 unless filled)")
    amount_out: BaseUnits = Field(description="executed amount given (0 unless filled)")
    notional_usd: Usd
    pnl_usd: Usd = Field(description="realised PnL at the decision's reference prices")
    venue_reference: Id | None = None
    executed_at: UtcDatetime | None = None
    execution_venue: Id = Field(description="where it was executed: paper, near_intents, ...")
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
    STALE_PRICE = "stale_price"
    INSUFFICIENT_INVENTORY = "insufficient_inventory"
    MAX_POSITION = "max_position"
    MAX_INVENTORY_NOTIONAL = "max_inventory_notional"
    CIRCUIT_BREAKER = "circuit_breaker"
    QUOTE_VALIDITY_TOO_LONG = "quote_validity_too_long"


class ReactorSkipV1(Payload):
    EVENT_TYPE = "reactor_skip"
    SCHEMA_VERSION = 1

    quote_id: Id
    reason: SkipReason
    detail: Text
    notional_usd: Usd | None = None
    strategy_id: Id


class RiskLimit(StrEnum):
    """A limit that trips and stops quoting (docs/reactor.md explains each)."""

    DAILY_LOSS = "daily_loss"  # until the next UTC day or an operator reset
    LOSING_FILLS = "losing_fills"  # circuit breaker: cooldown
    PRICE_JUMP = "price_jump"  # circuit breaker: cooldown


class RiskTripV1(Payload):
    """A risk limit tripped: quoting stops until ``until`` (None: the next UTC day or a reset)."""

    EVENT_TYPE = "risk_trip"
    SCHEMA_VERSION = 1

    limit: RiskLimit
    detail: str
    strategy_id: str
    until: UtcDatetime | None = None
    observed: Usd = Field(description="the number that crossed the threshold")
    threshold: Usd
    pnl_usd: Usd = Field(description="the UTC day's mark-to-market PnL at the trip")
    asset_id: str | None = None


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
    by: Id = Field(description="executor instance that recorded it")


class LedgerEntryV1(Payload):
    """Latest state of one command in the executor ledger (compacted by command_id)."""

    EVENT_TYPE = "executor_ledger_entry"
    SCHEMA_VERSION = 1

    command_id: Id
    client_order_id: Id
    state: LedgerState
    transitions: tuple[LedgerTransition, ...] = Field(max_length=64)
    venue: Id
    command_event_id: Id
    correlation_id: Id | None = None
    command: ExecuteTradeV1 | None = Field(default=None, description="absent for rejects")
    result_json: str | None = Field(default=None, description="the stored result envelope")


class MonitorStateV1(Payload):
    """The monitor's counts and the input positions they cover (compacted by group id).

    Written before the monitor commits its offsets, so a restarted monitor loads the counts
    and resumes every partition exactly where they end: nothing counted twice or missed.
    """

    EVENT_TYPE = "monitor_state"
    SCHEMA_VERSION = 1

    group_id: Id
    stats: dict[str, Any] = Field(description="unrip.monitor.stats.PipelineStats.to_state()")
    offsets: dict[str, int] = Field(description='"topic:partition" -> next offset covered')


class ReactorStateV1(Payload):
    """The reactor's inventory and the results it covers (compacted by group id).

    Written after a batch every few seconds and at shutdown, before the offsets are committed.
    A restarted reactor loads the latest one and counts only results after its offsets, instead
    of re-reading every retained result (30 days) to rebuild the inventory.
    """

    EVENT_TYPE = "reactor_state"
    SCHEMA_VERSION = 1

    group_id: Id
    day: date = Field(description="the UTC day that day_net covers")
    net: dict[AssetId, int] = Field(description="base units since the start balances")
    day_net: dict[AssetId, int] = Field(description="base units within ``day``")
    offsets: dict[Id, int] = Field(description='"exec.trade_result:partition" -> next offset')


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


class DeadLetterV2(Payload):
    """A rejected record, whose copy in ``raw`` may be truncated to fit the broker's limit.

    ``raw_length`` and ``raw_sha256`` describe the whole original value (bytes), so a
    truncated copy can still be matched to the record it came from (``source_partition`` /
    ``source_offset``) and the original fetched while the topic retains it.
    """

    EVENT_TYPE = "dead_letter"
    SCHEMA_VERSION = 2

    source_topic: Id
    source_partition: int | None = None
    source_offset: int | None = None
    source_key: Text | None = None
    consumer: Id
    reason_code: Id
    detail: Text
    raw_encoding: Literal["utf-8", "base64"]
    raw_length: int = Field(ge=0, description="bytes in the original value")
    raw_sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="of the original value")
    raw_truncated: bool = Field(description="``raw`` holds only the start of the original")
    original_headers: dict[str, str] = Field(default_factory=dict)
