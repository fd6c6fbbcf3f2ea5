"""The pipeline under load: every service its own process, driven through the real ingest.

The services run as in ``invoke dev`` (same entry points, same supervisor). Each step writes
a feed file (``feed.py``) and starts an ingest replaying it at the step's rate; a tap on
``exec.trade_result`` timestamps each result. An event's latency is from the ingest reading
its frame (``demand_observed_at``, which every result carries) to its result reaching the
tap: feed -> ingest -> reactor -> executor -> result, three bus hops plus the work.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml
from aiokafka.structs import ConsumerRecord
from unrip.contracts import utc_now
from unrip.reactor.strategy import DEFAULT_STRATEGY_PATH, load_strategy
from unrip.runtime.kafka import Outgoing, make_producer, publish_all
from unrip.runtime.settings import ServiceSettings
from unrip.topics import CMD_EXECUTE_TRADE, EXEC_TRADE_RESULT

from unrip_dev.bench.feed import speed_for, write_feed
from unrip_dev.bench.machine import cpu_seconds, memory_of
from unrip_dev.bench.requests import KafkaCounts, own_counts, scrape
from unrip_dev.bench.stats import Distribution, RateVerdict, judge_rate, middle_rate
from unrip_dev.bench.tap import Expected, TopicTap
from unrip_dev.broker import free_port
from unrip_dev.commands import synthetic_command
from unrip_dev.supervisor import Supervisor, local_signer

# The ingest's response window: long, so that a backlog shows up as latency, not as expiries.
RESPONSE_WINDOW_MS = 60_000
CORE_SERVICES = ("paper-venue", "executor", "reactor", "monitor")


def write_bench_strategy(path: Path) -> Path:
    """The default strategy with limits no benchmark step reaches: every demand is a trade.

    Risk checks still run on every decision; they just never say no, so each event yields a
    command and a result, and the open exposure a backlog builds up does not turn demands
    into skips half-way through a step.
    """
    strategy = load_strategy(DEFAULT_STRATEGY_PATH)
    document = strategy.model_dump(mode="json")
    document["strategy_id"] = "bench"
    document["prices"]["source"] = "static"  # the bench measures the pipeline, not a feed
    document["limits"] |= {
        "max_notional_usd": "1000000000",
        "max_open_exposure_usd": "1000000000000",
        "daily_loss_limit_usd": "1000000000",
        "max_inventory_notional_usd": None,
    }
    for asset in document["assets"].values():
        asset |= {"start_balance": 10**40, "min_inventory": 0, "max_position": None}
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


@dataclass(frozen=True, slots=True)
class StepResult:
    label: str
    rate_per_s: float | None  # None: as fast as the ingest can read
    latency_ms: Distribution
    stages_ms: dict[str, Distribution]
    statuses: dict[str, int]
    verdict: RateVerdict
    output_per_s_middle: float | None
    cpu_ms_per_event: dict[str, float]
    memory: dict[str, dict[str, float]]  # per process, sampled while the step's traffic flowed
    # Per process: CPU, broker requests and record operations per event (requests.py).
    per_stage: dict[str, dict[str, Any]]
    clean_exit: bool = True  # every service of the step stopped with exit code 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "rate_per_s": self.rate_per_s,
            "latency_ms": self.latency_ms.rounded(),
            "stages_ms": {name: d.rounded() for name, d in self.stages_ms.items()},
            "results_by_status": dict(sorted(self.statuses.items())),
            **self.verdict.as_dict(),
            "cpu_ms_per_event": self.cpu_ms_per_event,
            "per_stage": self.per_stage,
            "rss_mib": {name: m["rss_mib"] for name, m in sorted(self.memory.items())},
            "clean_exit": self.clean_exit,
        }


@dataclass(frozen=True, slots=True)
class _Outcome:
    """One event's timeline (epoch seconds), read from its result."""

    observed: float  # the ingest read the frame
    decided: float | None  # the reactor made the command (its UUIDv7 event id, 1 ms grain)
    executed: float | None  # the venue's timestamp of the outcome
    arrived: float  # the result reached the tap
    venue_ms: float | None  # the executor's venue call, as the result reports it
    status: str


def _epoch(text: str | None) -> float | None:
    return None if text is None else datetime.fromisoformat(text).timestamp()


def _uuid7_epoch(text: str | None) -> float | None:
    """The creation time of a UUIDv7 (its first 48 bits: Unix milliseconds)."""
    try:
        return int(text.replace("-", "")[:12], 16) / 1000 if text else None
    except ValueError:
        return None


class _Timelines:
    """Routes results to the step whose quote-id prefix they carry.

    Plain JSON, not the contract's models: the tap shares the machine with what it measures
    and must cost as little as possible. A result names its command (``causation_id``, a
    UUIDv7 made when the reactor decided), so one tap gives every stage's timestamps.
    """

    def __init__(self) -> None:
        self.results: dict[str, Expected[_Outcome]] = {}

    def on_result(self, record: ConsumerRecord, arrived: float) -> None:
        try:
            envelope = json.loads(record.value or b"")
            payload = envelope["payload"]
            prefix, _, number = payload["quote_id"].rpartition("-")
            expected = self.results.get(prefix)
            if expected is None:
                return
            outcome = _Outcome(
                observed=_epoch(payload["demand_observed_at"]) or arrived,
                decided=_uuid7_epoch(envelope.get("causation_id")),
                executed=_epoch(payload.get("executed_at")),
                arrived=arrived,
                venue_ms=payload.get("venue_latency_ms"),
                status=str(payload.get("status")),
            )
            expected.add(int(number), outcome)
        except (ValueError, KeyError, TypeError, AttributeError):
            return  # not a bench result


def _stages(outcomes: list[_Outcome]) -> dict[str, Distribution]:
    """Where an event's latency goes: to the decision, on to the venue's fill, on to the tap."""
    to_decision, to_venue, to_result, venue_call = [], [], [], []
    for outcome in outcomes:
        if outcome.venue_ms is not None:
            venue_call.append(outcome.venue_ms)
        if outcome.decided is None or outcome.executed is None:
            continue
        to_decision.append((outcome.decided - outcome.observed) * 1000)
        to_venue.append((outcome.executed - outcome.decided) * 1000)
        to_result.append((outcome.arrived - outcome.executed) * 1000)
    return {
        "ingest_to_decision": Distribution.of(to_decision),
        "decision_to_venue_fill": Distribution.of(to_venue),
        "venue_fill_to_result": Distribution.of(to_result),
        "venue_call": Distribution.of(venue_call),
    }


def _per_stage(
    cpu: dict[str, float],
    before: dict[str, KafkaCounts],
    after: dict[str, KafkaCounts],
    events: int,
) -> dict[str, dict[str, Any]]:
    """Per process: CPU, broker requests and record operations per event, and their sum.

    The broker's row has CPU only (it is where the requests land); ``all`` adds every row up,
    so the pipeline's requests per event sit beside its CPU per event.
    """
    stages: dict[str, dict[str, Any]] = {}
    for process in sorted(cpu.keys() | after.keys()):
        row: dict[str, Any] = {"cpu_ms_per_event": cpu.get(process)}
        if process in after:
            row |= after[process].per_event(before.get(process, KafkaCounts()), events)
        stages[process] = row
    total: dict[str, Any] = {"cpu_ms_per_event": round(sum(cpu.values()), 4)}
    for key in (
        "broker_requests_per_event",
        "records_produced_per_event",
        "records_consumed_per_event",
        "message_ops_per_event",
    ):
        total[key] = round(sum(row.get(key, 0.0) for row in stages.values()), 3)
    stages["all"] = total
    return stages


class Pipeline:
    def __init__(
        self, settings: ServiceSettings, env: dict[str, str], run_dir: Path, run_id: str
    ) -> None:
        self.settings = settings
        self.run_dir = run_dir
        self.run_id = run_id
        self.supervisor = Supervisor(run_dir, env)
        self.timelines = _Timelines()
        self.tap = TopicTap(settings, EXEC_TRADE_RESULT, self.timelines.on_result)
        self.strategy_path = write_bench_strategy(run_dir / "bench-strategy.yaml")
        self.watch: dict[str, int] = {}  # other processes to sample with the services

    async def start(self) -> None:
        spawn = self.supervisor.spawn
        venue = self.supervisor.spawn_paper_venue(self.run_dir / "paper-venue.sqlite")
        self.supervisor.spawn_executor("executor", venue.url)
        spawn(
            "reactor",
            "reactor",
            free_port(),
            {"UNRIP_REACTOR_STRATEGY_FILE": str(self.strategy_path)},
        )
        spawn("monitor", "monitor", free_port())
        problems = await asyncio.to_thread(self.supervisor.wait_ready, list(CORE_SERVICES), 60)
        if problems:
            raise RuntimeError("pipeline did not start: " + "; ".join(problems))
        await self.tap.start()

    async def stop(self) -> dict[str, int | None]:
        await self.tap.stop()
        return await asyncio.to_thread(self.supervisor.stop_all, 20)

    async def step(
        self,
        label: str,
        rate_per_s: float | None,
        count: int,
        *,
        warmup: int,
        drain_timeout_s: float,
    ) -> StepResult:
        """Replay ``warmup + count`` events at ``rate_per_s`` (None: as fast as possible)."""
        prefix = f"{self.run_id}-{label}"
        total = warmup + count
        expected: Expected[_Outcome] = Expected(total)
        self.timelines.results[prefix] = expected
        feed = write_feed(self.run_dir / f"feed-{label}.jsonl", f"{prefix}-", total)
        env = {
            "UNRIP_INGEST_FEED_PATH": str(feed),
            "UNRIP_INGEST_FEED_PACE": "fast" if rate_per_s is None else "recorded",
            "UNRIP_INGEST_FEED_SPEED": str(speed_for(rate_per_s or 1000.0)),
            "UNRIP_NEAR_INTENTS_RESPONSE_WINDOW_MS": str(RESPONSE_WINDOW_MS),
        }
        name = f"ingest-{label}"
        cpu_before = self._cpu()
        self.supervisor.spawn(name, "ingest", free_port(), env)
        # The ingest's start-up (imports) is not per-event work: count its CPU from ready on.
        await asyncio.to_thread(self.supervisor.wait_ready, [name], 30)
        cpu_before |= self._cpu([name])
        # The fresh ingest counts from zero: its records are all the step's.
        kafka_before = await self._kafka_counts(name)
        kafka_before.pop("ingest", None)
        scheduled_s = total / rate_per_s if rate_per_s else 0.0
        sampler = asyncio.create_task(self._memory_after(name, scheduled_s * 0.75))
        try:
            await expected.wait(self.tap, scheduled_s + drain_timeout_s)
            memory = await sampler
            cpu_after = self._cpu() | self._cpu([name])
            kafka_after = await self._kafka_counts(name)
        finally:
            await asyncio.to_thread(self.supervisor.stop, [name], 20)
        del self.timelines.results[prefix]
        measured = [o for n, o in expected.samples.items() if n >= warmup]
        statuses = Counter(o.status for o in measured)
        cpu = {
            "ingest" if process == name else process: round(
                (cpu_after[process] - cpu_before.get(process, 0.0)) * 1000 / total, 4
            )
            for process in cpu_after
        }
        arrivals = [o.observed for o in measured]
        completions = [o.arrived for o in measured]
        return StepResult(
            label,
            rate_per_s,
            Distribution.of([(o.arrived - o.observed) * 1000 for o in measured]),
            _stages(measured),
            statuses,
            judge_rate(rate_per_s or 0.0, count, arrivals, completions),
            middle_rate(completions),
            cpu,
            memory,
            _per_stage(cpu, kafka_before, kafka_after, total),
        )

    async def _kafka_counts(self, ingest: str) -> dict[str, KafkaCounts]:
        """Every service's Kafka counters now (the ingest under its own name), and the tap's."""
        urls = {
            "ingest" if name == ingest else name: child.url
            for name, child in self.supervisor.children.items()
            if child.running and (name == ingest or name in CORE_SERVICES)
        }
        found = await asyncio.gather(*(asyncio.to_thread(scrape, url) for url in urls.values()))
        counts = {name: c for name, c in zip(urls, found, strict=True) if c is not None}
        return counts | {"bench (tap)": own_counts()}

    def _cpu(self, names: list[str] | None = None) -> dict[str, float]:
        """CPU seconds used so far by the core services (or ``names``), the watched processes
        and this process (the tap)."""
        pids = {
            name: child.process.pid
            for name, child in self.supervisor.children.items()
            if child.process is not None
            and child.running
            and (name in names if names is not None else name in CORE_SERVICES)
        }
        if names is None:
            pids |= self.watch | {"bench (tap)": os.getpid()}
        found = {name: cpu_seconds(pid) for name, pid in pids.items()}
        return {name: seconds for name, seconds in found.items() if seconds is not None}

    async def _memory_after(self, ingest: str, after_s: float) -> dict[str, dict[str, float]]:
        await asyncio.sleep(after_s)  # a point in the step's schedule, not a synchronisation
        return self.memory(ingest)

    def memory(self, ingest: str | None = None) -> dict[str, dict[str, float]]:
        """RSS (and peak RSS) of every running service and watched process, now."""
        pids = {
            "ingest" if name == ingest else name: child.process.pid
            for name, child in self.supervisor.children.items()
            if child.process is not None and child.running
        } | self.watch
        found = {name: memory_of(pid) for name, pid in pids.items()}
        return {name: m for name, m in found.items() if m is not None}

    async def executor_drain(self, commands: int, drain_timeout_s: float) -> dict[str, Any]:
        """A backlog of valid commands straight into ``cmd.execute_trade``; the executor's rate.

        Every command is recorded twice in the ledger (``executing`` before the venue call,
        then ``executed`` with its result), each acknowledged by the broker, before its offset
        is committed: results per second is the durable commands per second of one executor.
        """
        run_id = f"{self.run_id}-ledger"
        expected: Expected[_Outcome] = Expected(commands)
        self.timelines.results[run_id] = expected
        now = utc_now()
        envelopes = [
            synthetic_command(n, now=now, deadline=timedelta(minutes=30), run_id=run_id)
            for n in range(commands)
        ]
        signer = local_signer()
        producer = make_producer(self.settings, "bench-commands")
        await producer.start()
        try:
            for start in range(0, commands, 1000):
                await publish_all(
                    producer,
                    [
                        Outgoing(
                            CMD_EXECUTE_TRADE,
                            e.payload.command_id,
                            e,
                            headers=signer.headers(e),
                        )
                        for e in envelopes[start : start + 1000]
                    ],
                )
        finally:
            await producer.stop()
        complete = await expected.wait(self.tap, drain_timeout_s)
        del self.timelines.results[run_id]
        completions = [o.arrived for o in expected.samples.values()]
        rate = middle_rate(completions)
        return {
            "commands": commands,
            "completed": len(completions),
            "complete": complete,
            "durable_commands_per_s": None if rate is None else round(rate, 1),
        }
