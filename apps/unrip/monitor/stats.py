"""Pipeline statistics, counted by identity (not by record), so redelivered or re-published
copies never inflate a count and "every demand is a command or a skip" can be checked, in
memory that stays flat (bounded windows) and counts that survive a restart (``to_state``)."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from unrip.runtime.window import KeyWindow


def percentile(sorted_values: list[float], q: float) -> float | None:
    """Nearest-rank percentile of an already sorted list (None when empty)."""
    if not sorted_values:
        return None
    rank = max(1, round(q / 100 * len(sorted_values) + 0.5 - 1e-9))
    return sorted_values[min(rank, len(sorted_values)) - 1]


# The counters a restart must not reset (``to_state`` / ``from_state``): every count and sum.
# The de-duplication windows and latency samples are not carried over: they are recent-only.
_COUNTS = ("demands", "commands", "commanded", "skipped", "results", "result_copies", "reconciled")


@dataclass
class PipelineStats:
    """Counts by identity within bounded windows (``unrip.runtime.window``).

    Each identity (demand key, command id) is counted once while its key is in the window; the
    windows hold keys for ``window_s`` and at most ``window_keys`` of them, so memory is flat
    however long the monitor runs. A copy arriving after its key left the window would count
    again; copies come from redelivery and re-publishing within seconds, far inside an hour.
    """

    latency_window: int = 100_000
    window_s: float = 3600.0
    window_keys: int = 100_000
    counts: Counter[str] = field(default_factory=Counter)
    skip_reasons: Counter[str] = field(default_factory=Counter)
    status_counts: Counter[str] = field(default_factory=Counter)
    dead_letters: Counter[str] = field(default_factory=Counter)
    pnl_usd: Decimal = Decimal(0)
    filled_notional_usd: Decimal = Decimal(0)
    latencies_ms: deque[float] = field(default_factory=deque)

    def __post_init__(self) -> None:
        self.latencies_ms = deque(maxlen=self.latency_window)
        self._demands = self._window()
        self._commands = self._window()
        self._commanded = self._window()
        self._skipped = self._window()
        self._results = self._window()

    def _window(self) -> KeyWindow:
        return KeyWindow(ttl_s=self.window_s, max_keys=self.window_keys)

    def demand(self, key: str) -> None:
        if self._demands.add(key):
            self.counts["demands"] += 1

    def command(self, demand_key: str, command_id: str) -> None:
        if self._commands.add(command_id):
            self.counts["commands"] += 1
        if self._commanded.add(demand_key):
            self.counts["commanded"] += 1

    def skip(self, demand_key: str, reason: str) -> None:
        if self._skipped.add(demand_key):
            self.counts["skipped"] += 1
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
        self.counts["result_copies"] += 1
        if not self._results.add(command_id):
            return False
        self.counts["results"] += 1
        self.status_counts[status] += 1
        self.pnl_usd += pnl_usd
        if status == "filled":
            self.filled_notional_usd += notional_usd
        self.counts["reconciled"] += int(reconciled)
        self.latencies_ms.append(latency_ms)
        return True

    @property
    def fill_rate(self) -> float | None:
        results = self.counts["results"]
        return self.status_counts["filled"] / results if results else None

    def dead_letter(self, topic: str) -> None:
        self.dead_letters[topic] += 1

    def window_sizes(self) -> dict[str, int]:
        return {
            "demands": len(self._demands),
            "commands": len(self._commands),
            "results": len(self._results),
        }

    def to_state(self) -> dict[str, Any]:
        """Every count and sum, as JSON-ready data (the monitor's ``state.monitor`` record)."""
        return {
            "counts": {name: self.counts[name] for name in _COUNTS},
            "skip_reasons": dict(self.skip_reasons),
            "status_counts": dict(self.status_counts),
            "dead_letters": dict(self.dead_letters),
            "pnl_usd": format(self.pnl_usd, "f"),
            "filled_notional_usd": format(self.filled_notional_usd, "f"),
        }

    def load_state(self, state: dict[str, Any]) -> None:
        """Continue from a ``to_state`` snapshot (a restart)."""
        self.counts = Counter({k: int(v) for k, v in state["counts"].items() if k in _COUNTS})
        self.skip_reasons = Counter({str(k): int(v) for k, v in state["skip_reasons"].items()})
        self.status_counts = Counter({str(k): int(v) for k, v in state["status_counts"].items()})
        self.dead_letters = Counter({str(k): int(v) for k, v in state["dead_letters"].items()})
        self.pnl_usd = Decimal(state["pnl_usd"])
        self.filled_notional_usd = Decimal(state["filled_notional_usd"])

    def snapshot(self) -> dict[str, Any]:
        statuses = self.status_counts
        counts = self.counts
        latencies = sorted(self.latencies_ms)
        decided = counts["commanded"] + counts["skipped"]
        return {
            "demands": counts["demands"],
            "commands": counts["commands"],
            "skips": counts["skipped"],
            "skip_reasons": dict(sorted(self.skip_reasons.items())),
            "undecided_demands": max(0, counts["demands"] - decided),
            "results": counts["results"],
            "result_copies": counts["result_copies"],
            "results_by_status": dict(sorted(statuses.items())),
            "awaiting_result": max(0, counts["commands"] - counts["results"]),
            "reconciled_results": counts["reconciled"],
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
