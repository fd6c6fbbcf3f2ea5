"""Pipeline statistics, counted by identity (not by record), so redelivered or re-published
copies never inflate a count and "every demand is a command or a skip" can be checked."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of an already sorted list (None when empty)."""
    if not sorted_values:
        return None
    rank = max(1, round(q / 100 * len(sorted_values) + 0.5 - 1e-9))
    return sorted_values[min(rank, len(sorted_values)) - 1]


@dataclass
class PipelineStats:
    latency_window: int = 100_000
    demands: set[str] = field(default_factory=set)
    commands: set[str] = field(default_factory=set)
    commanded_demands: set[str] = field(default_factory=set)
    skipped_demands: set[str] = field(default_factory=set)
    skip_reasons: Counter[str] = field(default_factory=Counter)
    results: dict[str, str] = field(default_factory=dict)  # command_id -> status
    status_counts: Counter[str] = field(default_factory=Counter)
    result_copies: int = 0
    reconciled: int = 0
    dead_letters: Counter[str] = field(default_factory=Counter)
    pnl_usd: Decimal = Decimal(0)
    filled_notional_usd: Decimal = Decimal(0)
    latencies_ms: deque[float] = field(default_factory=deque)

    def __post_init__(self) -> None:
        self.latencies_ms = deque(maxlen=self.latency_window)

    def demand(self, key: str) -> None:
        self.demands.add(key)

    def command(self, demand_key: str, command_id: str) -> None:
        self.commands.add(command_id)
        self.commanded_demands.add(demand_key)

    def skip(self, demand_key: str, reason: str) -> None:
        if demand_key not in self.skipped_demands:
            self.skipped_demands.add(demand_key)
            self.skip_reasons[reason] += 1

    def result(
        self,
        command_id: str,
        status: str,
        pnl_usd: Decimal,
        notional_usd: Decimal,
        latency_ms: float,
        reconciled: bool,
    ) -> bool:
        """Record a result; False for a copy of one already counted."""
        self.result_copies += 1
        if command_id in self.results:
            return False
        self.results[command_id] = status
        self.status_counts[status] += 1
        self.pnl_usd += pnl_usd
        if status == "filled":
            self.filled_notional_usd += notional_usd
        self.reconciled += int(reconciled)
        self.latencies_ms.append(latency_ms)
        return True

    @property
    def fill_rate(self) -> float | None:
        return self.status_counts["filled"] / len(self.results) if self.results else None

    def dead_letter(self, topic: str) -> None:
        self.dead_letters[topic] += 1

    def snapshot(self) -> dict[str, Any]:
        statuses = self.status_counts
        decided = self.commanded_demands | self.skipped_demands
        latencies = sorted(self.latencies_ms)
        results = len(self.results)
        return {
            "demands": len(self.demands),
            "commands": len(self.commands),
            "skips": len(self.skipped_demands),
            "skip_reasons": dict(sorted(self.skip_reasons.items())),
            "undecided_demands": len(self.demands - decided),
            "results": results,
            "result_copies": self.result_copies,
            "results_by_status": dict(sorted(statuses.items())),
            "awaiting_result": len(self.commands - self.results.keys()),
            "reconciled_results": self.reconciled,
            "fill_rate": round(self.fill_rate, 4) if self.fill_rate is not None else None,
            "pnl_usd": format(self.pnl_usd, "f"),
            "filled_notional_usd": format(self.filled_notional_usd, "f"),
            "dead_letters": dict(sorted(self.dead_letters.items())),
            "dead_letters_total": sum(self.dead_letters.values()),
            "latency_ms": {
                "samples": len(latencies),
                "p50": percentile(latencies, 50),
                "p99": percentile(latencies, 99),
                "max": latencies[-1] if latencies else None,
            },
        }
