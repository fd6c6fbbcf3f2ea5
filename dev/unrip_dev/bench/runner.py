"""`invoke bench`: run every measurement in one go and return one result document.

Order matters on a shared machine: the in-process decision timing runs first, on a quiet
machine; then the baseline relays; then the pipeline (latency steps, then the throughput
search, then the executor drains, then its quote latency on the NEAR stand-in) and the
ledger restore. Every measurement uses the same broker software and client settings, so each
pipeline figure has a baseline from the same run beside it.

On the embedded broker each measurement gets a fresh Tansu (and the pipeline fresh services):
Tansu's memory engine slows down as it fills (CPU per message more than doubles once it holds
a few hundred thousand records, on every topic), so a shared instance would charge each step
for the data of the steps before it. With ``--bootstrap-servers`` they share that broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr
from unrip.runtime.kafka import ensure_topics
from unrip.runtime.settings import ServiceSettings
from unrip.topics import CATALOGUE, EXECUTION_PARTITIONS

from unrip_dev.bench.archive import time_archive
from unrip_dev.bench.baseline import Baseline, RelayThroughput, bench_topics
from unrip_dev.bench.decision import time_decisions
from unrip_dev.bench.ledger import time_restore
from unrip_dev.bench.machine import machine_info, tansu_version
from unrip_dev.bench.pipeline import RESPONSE_WINDOW_MS, Pipeline, StepResult
from unrip_dev.bench.quote_latency import RATE_PER_S, time_quote_latency
from unrip_dev.bench.report import assess, executor_vs_relay_target, quote_latency_target
from unrip_dev.bench.sizes import baseline_message_bytes, hop_message_bytes
from unrip_dev.broker import TansuBroker, tansu_binary
from unrip_dev.supervisor import (
    LOCAL_COMMAND_SIGNING_KEY,
    LOCAL_HEARTBEAT_INTERVAL_MS,
    LOCAL_SESSION_TIMEOUT_MS,
    env_without_unrip,
)

SCHEMA = "unrip.bench/1"


@dataclass(frozen=True)
class Profile:
    """How long and how hard each measurement runs (``--quick`` trades precision for time)."""

    rates: tuple[float, ...]
    step_s: float
    step_max_events: int  # a rate the pipeline cannot sustain must not take minutes to drain
    warmup_s: float
    relay_messages: int
    probe_events: int
    search_steps: int
    decision_rounds: int
    executor_commands: int
    quote_commands: int  # measured quote latency samples at 20/s (after quote_warmup)
    quote_warmup: int
    ledger_entries: int
    archive_events: int
    drain_timeout_s: float

    def events(self, rate: float) -> int:
        """Events of a measured step at ``rate``: ``step_s`` worth, at most ``step_max_events``."""
        return min(int(rate * self.step_s), self.step_max_events)

    def as_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items()}


FULL = Profile(
    rates=(20.0, 200.0, 1000.0, 5000.0),  # 20/s: the live relay's order of magnitude
    step_s=10.0,
    step_max_events=12_000,
    warmup_s=1.0,
    relay_messages=100_000,
    probe_events=10_000,
    search_steps=4,
    decision_rounds=30,
    executor_commands=10_000,
    quote_commands=1_200,  # a minute at 20/s
    quote_warmup=40,
    ledger_entries=10_000,
    archive_events=50_000,
    drain_timeout_s=60.0,
)
# The executor's window is measured against a venue that answers after this long (as NEAR
# settles a quote seconds after it was answered).
SETTLING_VENUE_MS = 2000

QUICK = Profile(
    rates=(20.0, 1000.0),  # the two rates the latency targets name
    step_s=2.0,
    step_max_events=2_000,
    warmup_s=0.5,
    relay_messages=10_000,
    probe_events=2_000,
    search_steps=2,
    decision_rounds=3,
    executor_commands=1_000,
    quote_commands=200,  # ten seconds at 20/s: the p99 is the second-highest sample
    quote_warmup=20,
    ledger_entries=1_000,
    archive_events=5_000,
    drain_timeout_s=30.0,
)


# Stages that ``--stage`` runs on their own (the whole bench when none is named).
STAGES = ("quote-latency", "executor")


@dataclass
class BenchOptions:
    quick: bool = False
    bootstrap_servers: str | None = None
    stage: str | None = None  # one of STAGES: only that measurement
    runs_dir: Path = Path(".runs/bench")
    progress: Any = field(default=None, repr=False)  # callable(str) for progress lines

    @property
    def profile(self) -> Profile:
        return QUICK if self.quick else FULL


def bench_settings(bootstrap: str) -> ServiceSettings:
    """The services' settings from the environment, with a local run's quick rebalances.

    ``UNRIP_KAFKA_*`` variables set by the caller win, which is how a before/after comparison
    of a knob is run (``UNRIP_KAFKA_FETCH_MAX_WAIT_MS=10 invoke bench``).
    """
    local: dict[str, Any] = {}
    if "UNRIP_KAFKA_SESSION_TIMEOUT_MS" not in os.environ:
        local["kafka_session_timeout_ms"] = LOCAL_SESSION_TIMEOUT_MS
    if "UNRIP_KAFKA_HEARTBEAT_INTERVAL_MS" not in os.environ:
        local["kafka_heartbeat_interval_ms"] = LOCAL_HEARTBEAT_INTERVAL_MS
    return ServiceSettings(kafka_bootstrap_servers=bootstrap, **local)


def kafka_settings(settings: ServiceSettings) -> dict[str, Any]:
    return {
        name: value
        for name, value in settings.model_dump().items()
        if name.startswith("kafka_")
        and name != "kafka_bootstrap_servers"
        and not name.startswith("kafka_sasl_")  # credentials never go into a report
    }


def child_env(settings: ServiceSettings) -> dict[str, str]:
    """Environment of every child process: the same Kafka knobs for services and relays."""
    env = env_without_unrip()
    for name, value in settings.model_dump().items():
        if name.startswith("kafka_") and value is not None:
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            env[f"UNRIP_{name.upper()}"] = (
                str(value).lower() if isinstance(value, bool) else str(value)
            )
    env["UNRIP_SHUTDOWN_GRACE_S"] = "15"
    env["UNRIP_COMMAND_SIGNING_KEY"] = LOCAL_COMMAND_SIGNING_KEY
    env["UNRIP_EVENT_LOOP"] = settings.event_loop  # compared by UNRIP_EVENT_LOOP=asyncio
    return env


def _round_rate(rate: float) -> float:
    step = 10.0 if rate < 200 else 50.0 if rate < 2000 else 100.0
    return max(step, round(rate / step) * step)


def next_search_rate(low: float, high: float | None, guess: float | None) -> float | None:
    """The next rate to try, strictly between the best sustained and the lowest unsustained:
    ``guess`` if it lies there, else their middle (or 30 % above ``low`` with no upper bound).
    None when no rounded rate is left between them."""
    if guess is not None and guess > low and (high is None or guess < high):
        candidate = guess
    elif high is None:
        candidate = max(low * 1.3, 100.0)
    else:
        candidate = (low + high) / 2
    rate = _round_rate(candidate)
    if rate <= low or (high is not None and rate >= high):
        return None
    return rate


@dataclass(frozen=True)
class _Bus:
    """One broker for one measurement, and the client settings that point at it."""

    settings: ServiceSettings
    env: dict[str, str]
    broker_pid: int | None


class _Run:
    def __init__(self, options: BenchOptions, run_dir: Path, run_id: str) -> None:
        self.options = options
        self.profile = options.profile
        self.run_dir = run_dir
        self.run_id = run_id
        # The client settings of the run; each embedded broker gets a copy with its address.
        self.settings = bench_settings(options.bootstrap_servers or "127.0.0.1:9092")
        self.started = time.monotonic()
        self.steps_said = 0

    def say(self, message: str) -> None:
        """A progress line: which step of the run, how long it has run, what it is doing."""
        if self.options.progress is not None:
            self.steps_said += 1
            elapsed = time.monotonic() - self.started
            self.options.progress(f"[step {self.steps_said}, {elapsed:6.1f}s] {message}")

    def said_step(self, step: StepResult) -> None:
        # The outcome of a measured step, so a long run shows the rates it reaches as it goes.
        if self.options.progress is not None:
            out = step.output_per_s_middle
            p99 = step.latency_ms.p99
            self.options.progress(
                f"    {step.label}: out {'-' if out is None else f'{out:,.0f}'}/s, "
                f"p99 {'-' if p99 is None else f'{p99:.1f}'} ms, "
                f"sustained {'yes' if step.verdict.sustained else 'no'}"
            )

    @contextlib.asynccontextmanager
    async def _bus(self, label: str) -> AsyncIterator[_Bus]:
        """The external broker, or a fresh embedded one for this measurement only."""
        specs = [*CATALOGUE, *bench_topics(EXECUTION_PARTITIONS)]
        if self.options.bootstrap_servers:
            await ensure_topics(self.options.bootstrap_servers, specs)
            yield _Bus(self.settings, child_env(self.settings), None)
            return
        log = (self.run_dir / f"broker-{label}.log").open("ab")
        broker = await asyncio.to_thread(TansuBroker(log=log).start)
        try:
            await ensure_topics(broker.bootstrap_servers, specs)
            settings = bench_settings(broker.bootstrap_servers)
            yield _Bus(settings, child_env(settings), broker.pid)
        finally:
            await asyncio.to_thread(broker.stop)
            log.close()

    def _logs(self, label: str) -> Path:
        path = self.run_dir / label
        path.mkdir(exist_ok=True)
        return path

    async def run(self) -> dict[str, Any]:
        p = self.profile
        hop_bytes = hop_message_bytes()
        size = baseline_message_bytes(hop_bytes)

        self.say(f"reactor decision: {p.decision_rounds} rounds in-process")
        decision = await asyncio.to_thread(time_decisions, p.decision_rounds)

        chain = []
        for rate in p.rates:
            self.say(f"baseline: relay chain at {rate:g}/s")
            async with self._bus(f"relay-{rate:g}") as bus:
                baseline = self._baseline(bus, f"relay-{rate:g}", size)
                chain += await baseline.latency(
                    [rate], p.step_s, p.step_max_events, p.warmup_s, p.drain_timeout_s
                )
        relay = await self.relay_drain(size)

        latency: list[StepResult] = []
        for rate in p.rates:
            self.say(f"pipeline: {rate:g} events/s for {p.events(rate) / rate:g} s")
            latency.append(await self._pipeline_step(f"r{rate:g}", rate, p.events(rate)))
        search = await self._capacity(latency)

        drains = await self.executor_drains(relay)
        quote_latency = await self.quote_latency()
        self.say(f"executor: restoring a ledger partition of {p.ledger_entries} entries")
        async with self._bus("ledger") as bus:
            restore = await time_restore(bus.settings, p.ledger_entries)
        self.say(f"archive: archiving {p.archive_events} events, then replaying them")
        async with self._bus("archive") as bus:
            archive = await time_archive(
                bus.settings, bus.env, self._logs("archive"), p.archive_events, p.drain_timeout_s
            )

        steps = [*latency, search.probe, *search.steps]
        return {
            "message_bytes": {**hop_bytes, "baseline": size},
            "decision": decision.as_dict(),
            "baseline": {
                "message_bytes": size,
                "latency": [c.as_dict() for c in chain],
                "relay_throughput": relay.as_dict(),
            },
            "pipeline": {
                "latency": [s.as_dict() for s in latency],
                "throughput": search.as_dict(),
                "clean_exits": all(s.clean_exit for s in steps) and drains.clean_exit,
            },
            "executor": {
                "drain": drains.drain,
                "drain_venue_settling": drains.settling,
                "quote_latency": quote_latency,
                "ledger_restore": restore,
            },
            "archive": archive,
            "footprint": _footprint(latency, drains.after_drain),
        }

    async def relay_drain(self, size: int) -> RelayThroughput:
        """One bare relay draining a backlog: the rate the executor's figures are read against."""
        p = self.profile
        self.say(f"baseline: one relay draining {p.relay_messages} messages")
        async with self._bus("relay-drain") as bus:
            baseline = self._baseline(bus, "relay-drain", size)
            return await baseline.throughput(p.relay_messages, p.drain_timeout_s)

    async def executor_drains(self, relay: RelayThroughput) -> _Drains:
        """The executor draining a backlog, then again against a venue settling 2 s later."""
        p = self.profile
        self.say(f"executor: draining {p.executor_commands} commands")
        async with self._bus("executor") as bus:
            pipeline = await self._pipeline(bus, "executor")
            try:
                drain = await pipeline.executor_drain(p.executor_commands, p.drain_timeout_s)
                after_drain = pipeline.memory()
            finally:
                exit_codes = await pipeline.stop()
        self.say(
            f"executor: draining {p.executor_commands} commands, venue settling after "
            f"{SETTLING_VENUE_MS / 1000:g} s (the in-flight window)"
        )
        async with self._bus("executor-settling") as bus:
            settling_env = {**bus.env, "UNRIP_PAPER_LATENCY_MS": str(SETTLING_VENUE_MS)}
            pipeline = Pipeline(bus.settings, settling_env, self._logs("settling"), self.run_id)
            await pipeline.start()
            try:
                settling = await pipeline.executor_drain(
                    p.executor_commands, p.drain_timeout_s + SETTLING_VENUE_MS / 1000
                )
            finally:
                exit_codes.update({f"settling-{k}": v for k, v in (await pipeline.stop()).items()})
        settling["venue_settles_after_s"] = SETTLING_VENUE_MS / 1000
        settling["share_of_bare_relay_drain"] = executor_vs_relay_target(
            {"drain_venue_settling": settling}, {"relay_throughput": relay.as_dict()}
        )["value"]
        if self.options.progress is not None:
            self.options.progress(
                f"    executor: {drain.get('durable_commands_per_s')}/s; venue settling: "
                f"{settling.get('durable_commands_per_s')}/s, "
                f"{settling['share_of_bare_relay_drain']} of the relay's "
                f"{relay.as_dict()['msgs_per_s']}/s"
            )
        return _Drains(drain, settling, after_drain, exit_codes)

    async def quote_latency(self) -> dict[str, Any]:
        """Command consumed -> quote_response at the NEAR relay stand-in, at 20 commands/s."""
        p = self.profile
        self.say(
            f"executor: quote latency on the NEAR stand-in, {p.quote_commands} commands "
            f"at {RATE_PER_S:g}/s"
        )
        async with self._bus("quote-latency") as bus:
            result = await time_quote_latency(
                bus.settings,
                bus.env,
                self._logs("quote-latency"),
                self.run_id,
                p.quote_commands,
                warmup=p.quote_warmup,
                timeout_s=p.drain_timeout_s,
            )
        if self.options.progress is not None:
            d = result["consumed_to_wire_ms"]
            self.options.progress(
                f"    quote latency: p50 {d['p50']} ms, p99 {d['p99']} ms "
                f"({result['answered']}/{result['commands']} answered), load "
                f"{result['load_average']['after'][0]}"
            )
        return result

    def _baseline(self, bus: _Bus, label: str, size: int) -> Baseline:
        baseline = Baseline(bus.settings, bus.env, self._logs(label), self.run_id, size)
        if bus.broker_pid is not None:
            baseline.watch["broker (tansu)"] = bus.broker_pid
        return baseline

    async def _pipeline(self, bus: _Bus, label: str) -> Pipeline:
        """Fresh services on ``bus``, warmed up with a short run at the lowest rate."""
        pipeline = Pipeline(bus.settings, bus.env, self._logs(label), self.run_id)
        if bus.broker_pid is not None:
            pipeline.watch["broker (tansu)"] = bus.broker_pid
        await pipeline.start()
        rate = self.profile.rates[0]
        await pipeline.step(
            f"{label}-warmup",
            rate,
            int(rate * self.profile.warmup_s) + 10,
            warmup=0,
            drain_timeout_s=self.profile.drain_timeout_s,
        )
        return pipeline

    async def _pipeline_step(self, label: str, rate: float | None, count: int) -> StepResult:
        """One measured step on its own broker and services."""
        p = self.profile
        async with self._bus(label) as bus:
            pipeline = await self._pipeline(bus, label)
            try:
                step = await pipeline.step(
                    label,
                    rate,
                    count,
                    warmup=int((rate or 0) * p.warmup_s),
                    drain_timeout_s=p.drain_timeout_s,
                )
            finally:
                exit_codes = await pipeline.stop()
        self.said_step(step)
        return dataclasses.replace(step, clean_exit=all(c == 0 for c in exit_codes.values()))

    async def _capacity(self, known: list[StepResult]) -> _Search:
        """The highest fixed rate the pipeline sustains: an estimate, then a short search.

        The estimate is the rate at which the pipeline drains a feed replayed as fast as the
        ingest can read it; the search then runs fixed-rate steps around it, narrowing between
        the best sustained and the lowest unsustained rate seen (latency steps included).
        """
        p = self.profile
        self.say(f"pipeline: capacity probe, {p.probe_events} events as fast as possible")
        probe = await self._pipeline_step("probe", None, p.probe_events)
        sustained = [s.rate_per_s for s in known if s.verdict.sustained and s.rate_per_s]
        unsustained = [s.rate_per_s for s in known if not s.verdict.sustained and s.rate_per_s]
        low = max(sustained, default=0.0)
        high = min(unsustained, default=None)
        guess: float | None = (probe.output_per_s_middle or 0.0) * 0.9
        steps = []
        for attempt in range(p.search_steps):
            rate = next_search_rate(low, high, guess)
            if rate is None:
                break  # low and high are as close as the rounding allows
            guess = None
            self.say(f"pipeline: sustained at {rate:g} events/s?")
            step = await self._pipeline_step(f"s{attempt}", rate, p.events(rate))
            steps.append(step)
            if step.verdict.sustained:
                low = rate
            else:
                high = rate
        return _Search(probe, steps, low or None, high)


@dataclass(frozen=True)
class _Drains:
    """The executor's two drains (paper venue, then settling after 2 s) and how they ended."""

    drain: dict[str, Any]
    settling: dict[str, Any]
    after_drain: dict[str, dict[str, float]]  # memory once the first drain is done
    exit_codes: dict[str, int | None]

    @property
    def clean_exit(self) -> bool:
        return all(code == 0 for code in self.exit_codes.values())

    @property
    def complete(self) -> bool:
        return bool(self.drain.get("complete")) and bool(self.settling.get("complete"))


@dataclass(frozen=True)
class _Search:
    probe: StepResult
    steps: list[StepResult]
    max_sustained_per_s: float | None
    lowest_unsustained_per_s: float | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "probe": self.probe.as_dict()
            | {"output_per_s_middle": _r(self.probe.output_per_s_middle)},
            "steps": [s.as_dict() for s in self.steps],
            "max_sustained_per_s": self.max_sustained_per_s,
            "lowest_unsustained_per_s": self.lowest_unsustained_per_s,
        }


def _footprint(steps: list[StepResult], after_drain: dict[str, dict[str, float]]) -> dict[str, Any]:
    """Memory in steady state (the highest sustained latency step) and after the executor
    drain, when the executor's ledger cache holds every one of the drained commands."""
    sustained = [s for s in steps if s.verdict.sustained] or steps[:1]
    steady = max(sustained, key=lambda s: s.rate_per_s or 0.0)
    return {
        "steady_step": steady.label,
        "steady": steady.memory,
        "after_executor_drain": after_drain,
    }


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def run_bench(options: BenchOptions) -> dict[str, Any]:
    """Run the benchmark; the result document (also written under ``options.runs_dir``)."""
    started = datetime.now(UTC)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    run_dir = options.runs_dir / f"bench-{stamp}"
    run_dir.mkdir(parents=True, exist_ok=True)
    clock = time.monotonic()
    machine = machine_info()
    if options.bootstrap_servers:
        broker: dict[str, Any] = {
            "kind": "external",
            "bootstrap_servers": options.bootstrap_servers,
        }
    else:
        broker = {
            "kind": "embedded",
            "version": tansu_version(tansu_binary()),
            "storage": "memory",
            "instances": "a fresh broker per measurement",
        }
    run = _Run(options, run_dir, f"b{stamp}")
    if options.stage is not None:
        return _run_stage(options, run, started, clock, machine, broker)
    measured = asyncio.run(run.run())
    document: dict[str, Any] = {
        "schema": SCHEMA,
        "started_at": started.isoformat(),
        "seconds": round(time.monotonic() - clock, 1),
        "quick": options.quick,
        "machine": machine | {"broker": broker},
        "settings": {
            "kafka": kafka_settings(run.settings),
            "partitions": EXECUTION_PARTITIONS,
            "event_loop": run.settings.event_loop,
            "executors": 1,
            "venue": "paper (SQLite WAL, synchronous=NORMAL, no simulated latency)",
            "ingest_response_window_ms": RESPONSE_WINDOW_MS,
            "strategy": "default prices, limits raised so every demand trades",
            "profile": options.profile.as_dict(),
        },
        **measured,
        "run_dir": str(run_dir),
    }
    document["targets"] = assess(document)
    # ok: a complete measurement (every figure present, every service stopped cleanly); whether
    # the targets are met is reported beside it, not folded into it.
    document["ok"] = (
        all(t["value"] is not None for t in document["targets"].values())
        and (document["pipeline"]["clean_exits"])
        and document["archive"]["clean_exit"]
        and document["archive"]["archived"] == document["archive"]["events"]
        and _complete(document["executor"]["quote_latency"])
    )
    path = options.runs_dir / f"bench-{stamp}.json"
    document["results_file"] = str(path)
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    return document


def _complete(quote_latency: dict[str, Any]) -> bool:
    # Every command answered and measured, and the NEAR executor stopped cleanly.
    return (
        bool(quote_latency["clean_exit"]) and quote_latency["answered"] == quote_latency["commands"]
    )


def _run_stage(
    options: BenchOptions,
    run: _Run,
    started: datetime,
    clock: float,
    machine: dict[str, Any],
    broker: dict[str, Any],
) -> dict[str, Any]:
    """One named stage alone: its figures under the same keys as in a full run."""
    settings: dict[str, Any] = {
        "kafka": kafka_settings(run.settings),
        "event_loop": run.settings.event_loop,
        "profile": options.profile.as_dict(),
    }
    if options.stage == "quote-latency":
        figures, ok = _quote_latency_stage(run)
    elif options.stage == "executor":
        figures, ok = asyncio.run(_executor_stage(run))
        settings |= {"partitions": EXECUTION_PARTITIONS, "executors": 1}
    else:
        raise ValueError(f"unknown bench stage {options.stage!r}; known: {', '.join(STAGES)}")
    document: dict[str, Any] = {
        "schema": SCHEMA,
        "stage": options.stage,
        "started_at": started.isoformat(),
        "seconds": round(time.monotonic() - clock, 1),
        "quick": options.quick,
        "machine": machine | {"broker": broker},
        "settings": settings,
        **figures,
        "run_dir": str(run.run_dir),
        "ok": ok,
    }
    path = options.runs_dir / f"{run.run_dir.name}-{options.stage}.json"
    document["results_file"] = str(path)
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    return document


def _quote_latency_stage(run: _Run) -> tuple[dict[str, Any], bool]:
    quote_latency = asyncio.run(run.quote_latency())
    target = quote_latency_target(quote_latency)
    figures = {
        "executor": {"quote_latency": quote_latency},
        "targets": {"quote_latency_p99_ms": target},
    }
    return figures, target["value"] is not None and _complete(quote_latency)


async def _executor_stage(run: _Run) -> tuple[dict[str, Any], bool]:
    """The executor's drains beside one bare relay's drain, each on a fresh broker."""
    size = baseline_message_bytes(hop_message_bytes())
    relay = await run.relay_drain(size)
    drains = await run.executor_drains(relay)
    baseline = {"message_bytes": size, "relay_throughput": relay.as_dict()}
    executor = {"drain": drains.drain, "drain_venue_settling": drains.settling}
    target = executor_vs_relay_target(executor, baseline)
    figures = {
        "baseline": baseline,
        "executor": executor,
        "footprint": {"after_executor_drain": drains.after_drain},
        "targets": {"executor_vs_relay": target},
    }
    return figures, target["value"] is not None and drains.complete and drains.clean_exit
