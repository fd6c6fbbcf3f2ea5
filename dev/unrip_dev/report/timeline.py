"""A run's events on a timeline, read from the bus, joined demand → command → result.

Stage latencies come from the envelopes' own timestamps (``observed_at`` when the venue message
arrived, ``ingested_at`` when each stage produced its event), so the report measures what the
services did, not when the report happened to read them. Counts are by identity: a result
re-published for a duplicate command is counted once (its first copy).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from unrip.contracts import (
    ContractError,
    ExecuteTradeV1,
    ReactorSkipV1,
    SwapDemandV1,
    TradeResultV1,
    decode,
)
from unrip.runtime.replay import read_to_end
from unrip.topics import AUDIT_REACTOR_SKIP, CMD_EXECUTE_TRADE, EXEC_TRADE_RESULT, NORM_SWAP_DEMAND

STAGES = ("ingest", "reactor", "executor", "venue")


@dataclass(frozen=True, slots=True)
class Demand:
    observed_at: datetime
    ingested_at: datetime


@dataclass(frozen=True, slots=True)
class Command:
    demand_event_id: str | None
    ingested_at: datetime


@dataclass(frozen=True, slots=True)
class Result:
    ingested_at: datetime
    status: str
    pnl_usd: Decimal
    end_to_end_ms: float
    venue_ms: float | None


@dataclass
class Timeline:
    demands: dict[str, Demand] = field(default_factory=dict)  # by event id
    commands: dict[str, Command] = field(default_factory=dict)  # by command id
    results: dict[str, Result] = field(default_factory=dict)  # by command id, first copy
    skips: list[datetime] = field(default_factory=list)
    skip_reasons: Counter[str] = field(default_factory=Counter)

    def stage_latencies_ms(self) -> dict[str, list[float]]:
        """Per stage, one sample per command with a result (ingest: per demand)."""
        stages: dict[str, list[float]] = {name: [] for name in STAGES}
        for demand in self.demands.values():
            stages["ingest"].append(_ms(demand.ingested_at - demand.observed_at))
        for command_id, result in self.results.items():
            command = self.commands.get(command_id)
            if command is None:
                continue
            cause = self.demands.get(command.demand_event_id or "")
            if cause is not None:
                stages["reactor"].append(_ms(command.ingested_at - cause.ingested_at))
            stages["executor"].append(_ms(result.ingested_at - command.ingested_at))
            if result.venue_ms is not None:
                stages["venue"].append(result.venue_ms)
        return stages

    def end_to_end_ms(self) -> list[float]:
        return [result.end_to_end_ms for result in self.results.values()]

    def start(self) -> datetime | None:
        times = [d.ingested_at for d in self.demands.values()]
        return min(times) if times else None

    def per_second(self) -> dict[str, list[tuple[float, float]]]:
        """Events produced per second of the run, per stage."""
        start = self.start()
        if start is None:
            return {}
        series = {
            "demands": [d.ingested_at for d in self.demands.values()],
            "commands": [c.ingested_at for c in self.commands.values()],
            "skips": self.skips,
            "results": [r.ingested_at for r in self.results.values()],
        }
        out: dict[str, list[tuple[float, float]]] = {}
        for name, stamps in series.items():
            buckets = Counter(int((at - start).total_seconds()) for at in stamps)
            last = max(buckets, default=0)
            out[name] = [(float(s), float(buckets.get(s, 0))) for s in range(0, last + 1)]
        return out

    def pnl_over_time(self) -> list[tuple[float, float]]:
        """Cumulative realised PnL (USD) by when each result was produced."""
        start = self.start()
        if start is None:
            return []
        total = Decimal(0)
        points = [(0.0, 0.0)]
        for result in sorted(self.results.values(), key=lambda r: r.ingested_at):
            total += result.pnl_usd
            points.append(((result.ingested_at - start).total_seconds(), float(total)))
        return points


def _ms(delta: timedelta) -> float:
    return delta.total_seconds() * 1000


async def read_timeline(bootstrap_servers: str) -> Timeline:
    timeline = Timeline()
    topics = [NORM_SWAP_DEMAND, CMD_EXECUTE_TRADE, AUDIT_REACTOR_SKIP, EXEC_TRADE_RESULT]
    async for record in read_to_end(bootstrap_servers, topics, client_id="unrip-dev-report"):
        try:
            envelope = decode(record.value, record.headers)
        except ContractError:
            continue  # the DLQ has it; the tally counts it
        payload = envelope.payload
        if isinstance(payload, SwapDemandV1):
            timeline.demands[envelope.event_id] = Demand(envelope.observed_at, envelope.ingested_at)
        elif isinstance(payload, ExecuteTradeV1):
            timeline.commands.setdefault(
                payload.command_id, Command(envelope.causation_id, envelope.ingested_at)
            )
        elif isinstance(payload, ReactorSkipV1):
            timeline.skips.append(envelope.ingested_at)
            timeline.skip_reasons[payload.reason.value] += 1
        elif isinstance(payload, TradeResultV1):
            timeline.results.setdefault(
                payload.command_id,
                Result(
                    envelope.ingested_at,
                    payload.status.value,
                    payload.pnl_usd,
                    # Received -> result produced, the sum of the stages below (the payload's
                    # demand_to_outcome_ms stops at the venue's execution time instead).
                    _ms(envelope.ingested_at - payload.demand_observed_at),
                    payload.venue_latency_ms,
                ),
            )
    return timeline
