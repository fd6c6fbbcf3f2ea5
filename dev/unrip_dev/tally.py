"""Reconcile a run from the bus itself: every demand is a command or a skip, every command has
exactly one result, every raw quote event is a demand or a dead letter. Counts are by identity
(quote id, command id, result event id), never by record. Raw events are counted on every
``raw.*`` topic of the catalogue, whichever venue wrote them."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from unrip.contracts import (
    ContractError,
    DeadLetterV1,
    DeadLetterV2,
    ExecuteTradeV1,
    ReactorSkipV1,
    SwapDemandV1,
    TradeResultV1,
    decode,
)
from unrip.runtime.replay import read_to_end
from unrip.topics import (
    AUDIT_REACTOR_SKIP,
    CMD_EXECUTE_TRADE,
    DLQ_TOPICS,
    EXEC_TRADE_RESULT,
    NORM_SWAP_DEMAND,
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
        }


async def tally_bus(bootstrap_servers: str) -> Tally:
    tally = Tally()
    registry.load_all()  # every venue's raw schemas, to decode the raw topics
    topics = [
        *RAW_TOPICS,
        NORM_SWAP_DEMAND,
        CMD_EXECUTE_TRADE,
        AUDIT_REACTOR_SKIP,
        EXEC_TRADE_RESULT,
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
        if record.topic in RAW_TOPICS:
            tally.raw_events += 1
        elif isinstance(payload, SwapDemandV1):
            tally.demands.add(key)
        elif isinstance(payload, ExecuteTradeV1):
            tally.commands[payload.command_id] = key
        elif isinstance(payload, ReactorSkipV1):
            tally.skips[key] = payload.reason.value
        elif isinstance(payload, TradeResultV1):
            tally.result_records += 1
            tally.results[payload.command_id].add(envelope.event_id)
            tally.result_status[payload.command_id] = payload.status.value
        elif isinstance(payload, DeadLetterV1 | DeadLetterV2):
            tally.dead_letters[record.topic] += 1
            tally.dead_letter_reasons[payload.reason_code] += 1
    return tally
