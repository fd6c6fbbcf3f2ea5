"""Reconcile a run from the bus itself: every demand is a command or a skip, every command has
exactly one result, every raw quote event is a demand or a dead letter. Counts are by identity
(quote id, command id, result event id), never by record. Raw events are counted on every
``raw.*`` topic of the catalogue, whichever venue wrote them (price lists apart).

It also values the run: ``pnl_usd`` is every fill's legs marked to the last reference price
of each asset on the bus (mark-to-market; the strategy's static prices when none was
published), ``risk_trips`` counts ``audit.risk_trip`` by limit, and
``commands_after_daily_loss_trip`` counts commands decided at or after the first daily-loss
trip (must be 0)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from unrip.contracts import (
    ContractError,
    DeadLetterV1,
    DeadLetterV2,
    ExecuteTradeV1,
    ReactorSkipV1,
    ReferencePriceV1,
    RiskTripV1,
    SwapDemandV1,
    TradeResultV1,
    TradeStatus,
    decode,
)
from unrip.runtime.replay import read_to_end
from unrip.topics import (
    AUDIT_REACTOR_SKIP,
    AUDIT_RISK_TRIP,
    CMD_EXECUTE_TRADE,
    DLQ_TOPICS,
    EXEC_TRADE_RESULT,
    NORM_REFERENCE_PRICE,
    NORM_SWAP_DEMAND,
    RAW_NEAR_INTENTS_TOKENS,
    RAW_TOPICS,
    demand_key,
)
from unrip.venues import registry


@dataclass
class Tally:
    raw_events: int = 0
    demands: set[str] = field(default_factory=set)
    commands: dict[str, str] = field(default_factory=dict)  # command_id -> demand key
    skips: dict[str, str] = field(default_factory=dict)  # demand key -> reason
    results: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))  # cmd -> ids
    result_status: dict[str, str] = field(default_factory=dict)
    result_records: int = 0
    dead_letters: Counter[str] = field(default_factory=Counter)
    dead_letter_reasons: Counter[str] = field(default_factory=Counter)
    unreadable: Counter[str] = field(default_factory=Counter)
    raw_price_lists: int = 0
    last_prices: dict[str, tuple[int, Decimal]] = field(default_factory=dict)  # decimals, USD
    fills: list[tuple[str, int, str, int]] = field(default_factory=list)
    trips: Counter[str] = field(default_factory=Counter)
    first_daily_loss_trip: datetime | None = None
    command_times: list[datetime] = field(default_factory=list)

    def pnl_usd(self, fallback: Mapping[str, tuple[int, Decimal]] | None = None) -> Decimal:
        prices = {**(fallback or {}), **self.last_prices}
        total = Decimal(0)
        for asset_in, amount_in, asset_out, amount_out in self.fills:
            for asset, amount in ((asset_in, amount_in), (asset_out, -amount_out)):
                if asset in prices:
                    decimals, usd = prices[asset]
                    total += Decimal(amount) * usd / Decimal(10) ** decimals
        return total

    @property
    def commands_after_daily_loss_trip(self) -> int:
        trip = self.first_daily_loss_trip
        return 0 if trip is None else sum(1 for t in self.command_times if t >= trip)

    @property
    def commanded_demands(self) -> set[str]:
        return set(self.commands.values())

    @property
    def undecided(self) -> set[str]:
        return self.demands - self.commanded_demands - set(self.skips)

    @property
    def decided_twice(self) -> set[str]:
        return self.commanded_demands & set(self.skips)

    @property
    def without_result(self) -> set[str]:
        return set(self.commands) - set(self.results)

    @property
    def conflicting_results(self) -> set[str]:
        """Commands with more than one distinct result event (must be empty)."""
        return {cid for cid, ids in self.results.items() if len(ids) > 1}

    def summary(self) -> dict[str, Any]:
        return {
            "raw_quote_events": self.raw_events,
            "demands": len(self.demands),
            "commands": len(self.commands),
            "skips": len(self.skips),
            "skip_reasons": dict(sorted(Counter(self.skips.values()).items())),
            "results": len(self.results),
            "result_records": self.result_records,
            "results_by_status": dict(sorted(Counter(self.result_status.values()).items())),
            "dead_letters": dict(sorted(self.dead_letters.items())),
            "dead_letter_reasons": dict(sorted(self.dead_letter_reasons.items())),
            "lost_demands": len(self.undecided),
            "commands_without_result": len(self.without_result),
            "conflicting_results": len(self.conflicting_results),
            "demands_decided_twice": len(self.decided_twice),
            "raw_price_lists": self.raw_price_lists,
            "risk_trips": dict(sorted(self.trips.items())),
            "commands_after_daily_loss_trip": self.commands_after_daily_loss_trip,
        }


async def tally_bus(bootstrap_servers: str) -> Tally:
    tally = Tally()
    held_at: dict[str, int] = {}  # asset id -> record timestamp of its last price
    registry.load_all()  # every venue's raw schemas, to decode the raw topics
    topics = [
        *RAW_TOPICS,
        NORM_SWAP_DEMAND,
        CMD_EXECUTE_TRADE,
        AUDIT_REACTOR_SKIP,
        EXEC_TRADE_RESULT,
        NORM_REFERENCE_PRICE,
        AUDIT_RISK_TRIP,
        *DLQ_TOPICS,
    ]
    async for record in read_to_end(bootstrap_servers, topics, client_id="unrip-tally"):
        try:
            envelope = decode(record.value, record.headers)
        except ContractError:
            tally.unreadable[record.topic] += 1
            continue
        payload = envelope.payload
        key = demand_key(envelope.venue, getattr(payload, "quote_id", ""))
        if record.topic == RAW_NEAR_INTENTS_TOKENS:
            tally.raw_price_lists += 1
        elif record.topic in RAW_TOPICS:
            tally.raw_events += 1
        elif isinstance(payload, ReferencePriceV1):
            if record.timestamp >= held_at.get(payload.asset_id, 0):
                held_at[payload.asset_id] = record.timestamp
                tally.last_prices[payload.asset_id] = (payload.decimals, payload.usd_price)
        elif isinstance(payload, RiskTripV1):
            tally.trips[payload.limit.value] += 1
            if payload.limit.value == "daily_loss":
                first = tally.first_daily_loss_trip
                tally.first_daily_loss_trip = min(
                    first or envelope.observed_at, envelope.observed_at
                )
        elif isinstance(payload, SwapDemandV1):
            tally.demands.add(key)
        elif isinstance(payload, ExecuteTradeV1):
            tally.commands[payload.command_id] = key
            tally.command_times.append(envelope.observed_at)
        elif isinstance(payload, ReactorSkipV1):
            tally.skips[key] = payload.reason.value
        elif isinstance(payload, TradeResultV1):
            tally.result_records += 1
            tally.results[payload.command_id].add(envelope.event_id)
            tally.result_status[payload.command_id] = payload.status.value
            if payload.status is TradeStatus.FILLED and len(tally.results[payload.command_id]) == 1:
                tally.fills.append(
                    (payload.asset_in, payload.amount_in, payload.asset_out, payload.amount_out)
                )
        elif isinstance(payload, DeadLetterV1 | DeadLetterV2):
            tally.dead_letters[record.topic] += 1
            tally.dead_letter_reasons[payload.reason_code] += 1
    return tally
