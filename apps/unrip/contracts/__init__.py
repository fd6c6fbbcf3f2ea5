"""Event contracts: the envelope, the payload schemas and the wire codec."""

from unrip.contracts.codec import ContractError, decode, encode, register, registered
from unrip.contracts.envelope import Envelope, Payload, Schema, make_envelope, utc_now
from unrip.contracts.payloads import (
    DeadLetterV1,
    DeadLetterV2,
    ExecuteTradeV1,
    LedgerEntryV1,
    LedgerState,
    LedgerTransition,
    LimitsApplied,
    MonitorStateV1,
    Pricing,
    ReactorSkipV1,
    SkipReason,
    SwapDemandV1,
    SwapKind,
    TradeResultV1,
    TradeStatus,
)

__all__ = [
    "ContractError",
    "DeadLetterV1",
    "DeadLetterV2",
    "Envelope",
    "ExecuteTradeV1",
    "LedgerEntryV1",
    "LedgerState",
    "LedgerTransition",
    "LimitsApplied",
    "MonitorStateV1",
    "Payload",
    "Pricing",
    "ReactorSkipV1",
    "Schema",
    "SkipReason",
    "SwapDemandV1",
    "SwapKind",
    "TradeResultV1",
    "TradeStatus",
    "decode",
    "encode",
    "make_envelope",
    "register",
    "registered",
    "utc_now",
]
