"""`invoke bench`: run every measurement in one go and return one result document.

Order matters on a shared machine: the in-process decision timing runs first, on a quiet
machine; then the baseline relays; then the pipeline (latency steps, then the throughput
search, then the executor drain and the ledger restore). Everything uses one broker and the
same client settings, so each pipeline figure has a baseline from the same run beside it.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from unrip.local.bench.baseline import Baseline, bench_topics
from unrip.local.bench.decision import time_decisions
from unrip.local.bench.ledger import time_restore
from unrip.local.bench.machine import machine_info, tansu_version
from unrip.local.bench.pipeline import RESPONSE_WINDOW_MS, Pipeline, StepResult
from unrip.local.bench.report import assess
from unrip.local.bench.sizes import baseline_message_bytes, hop_message_bytes
from unrip.local.broker import TansuBroker, tansu_binary
from unrip.local.supervisor import env_without_unrip
from unrip.runtime.kafka import ensure_topics
from unrip.runtime.settings import ServiceSettings
from unrip.topics import CATALOGUE, EXECUTION_PARTITIONS

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
    drain_timeout_s=60.0,
)
QUICK = Profile(
    rates=(200.0, 1000.0),
    step_s=2.0,
    step_max_events=2_000,
    warmup_s=0.5,
    relay_messages=10_000,
    probe_events=2_000,
    search_steps=2,
    decision_rounds=3,
    executor_commands=1_000,
    drain_timeout_s=30.0,
)


@dataclass
class BenchOptions:
    quick: bool = False
    bootstrap_servers: str | None = None
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
        local["kafka_session_timeout_ms"] = 6000  # Tansu holds JoinGroup half a session
    if "UNRIP_KAFKA_HEARTBEAT_INTERVAL_MS" not in os.environ:
        local["kafka_heartbeat_interval_ms"] = 500
    return ServiceSettings(kafka_bootstrap_servers=bootstrap, **local)


def kafka_settings(settings: ServiceSettings) -> dict[str, Any]:
    return {
        name: value
        for name, value in settings.model_dump().items()
        if name.startswith("kafka_") and name != "kafka_bootstrap_servers"
    }


def child_env(settings: ServiceSettings) -> dict[str, str]:
    """Environment of every child process: the same Kafka knobs for services and relays."""
    env = env_without_unrip()
    for name, value in settings.model_dump().items():
        if name.startswith("kafka_"):
            env[f"UNRIP_{name.upper()}"] = (
                str(value).lower() if isinstance(value, bool) else str(value)
            )
    env["UNRIP_SHUTDOWN_GRACE_S"] = "15"
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


class _Run:
    def __init__(
        self,
        options: BenchOptions,
        bootstrap: str,
        run_dir: Path,
        run_id: str,
        broker_pid: int | None,
    ) -> None:
        self.options = options
        self.broker_pid = broker_pid
        self.profile = options.profile
        self.bootstrap = bootstrap
        self.run_dir = run_dir
        self.run_id = run_id
        self.settings = bench_settings(bootstrap)
        self.env = child_env(self.settings)

    def say(self, message: str) -> None:
        if self.options.progress is not None:
            self.options.progress(message)

    async def run(self) -> dict[str, Any]:
        p = self.profile
        await ensure_topics(self.bootstrap, [*CATALOGUE, *bench_topics(EXECUTION_PARTITIONS)])
        hop_bytes = hop_message_bytes()
        size = baseline_message_bytes(hop_bytes)

        self.say(f"reactor decision: {p.decision_rounds} rounds in-process")
        decision = await asyncio.to_thread(time_decisions, p.decision_rounds)

        baseline = Baseline(self.settings, self.env, self.run_dir, self.run_id, size)
        if self.broker_pid is not None:
            baseline.watch["broker (tansu)"] = self.broker_pid
        self.say(f"baseline: relay chain at {', '.join(f'{r:g}' for r in p.rates)}/s")
        chain = await baseline.latency(
            list(p.rates), p.step_s, p.step_max_events, p.warmup_s, p.drain_timeout_s
        )
        self.say(f"baseline: one relay draining {p.relay_messages} messages")
        relay = await baseline.throughput(p.relay_messages, p.drain_timeout_s)

        pipeline = Pipeline(self.settings, self.env, self.run_dir, self.run_id)
        if self.broker_pid is not None:
            pipeline.watch["broker (tansu)"] = self.broker_pid
        self.say("pipeline: starting services")
        await pipeline.start()
        try:
            await pipeline.step(
                "warmup",
                p.rates[0],
                int(p.rates[0] * p.warmup_s) + 10,
                warmup=0,
                drain_timeout_s=p.drain_timeout_s,
            )
            latency: list[StepResult] = []
            for rate in p.rates:
                self.say(f"pipeline: {rate:g} events/s for {p.step_s:g} s")
                latency.append(
                    await pipeline.step(
                        f"r{rate:g}",
                        rate,
                        p.events(rate),
                        warmup=int(rate * p.warmup_s),
                        drain_timeout_s=p.drain_timeout_s,
                    )
                )
            search = await self._capacity(pipeline, latency)
            self.say(f"executor: draining {p.executor_commands} commands")
            drain = await pipeline.executor_drain(p.executor_commands, p.drain_timeout_s)
            end_of_run = pipeline.memory()
            self.say("executor: restoring the largest ledger partition")
            restore = await time_restore(self.settings)
        finally:
            exit_codes = await pipeline.stop()

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
                "throughput": search,
                "exit_codes": exit_codes,
            },
            "executor": {"drain": drain, "ledger_restore": restore},
            "footprint": _footprint(latency, end_of_run),
        }

    async def _capacity(self, pipeline: Pipeline, known: list[StepResult]) -> dict[str, Any]:
        """The highest fixed rate the pipeline sustains: an estimate, then a short search.

        The estimate is the rate at which the pipeline drains a feed replayed as fast as the
        ingest can read it; the search then runs fixed-rate steps around it, narrowing between
        the best sustained and the lowest unsustained rate seen (latency steps included).
        """
        p = self.profile
        self.say(f"pipeline: capacity probe, {p.probe_events} events as fast as possible")
        probe = await pipeline.step(
            "probe", None, p.probe_events, warmup=0, drain_timeout_s=p.drain_timeout_s
        )
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
            step = await pipeline.step(
                f"s{attempt}",
                rate,
                p.events(rate),
                warmup=int(rate * p.warmup_s),
                drain_timeout_s=p.drain_timeout_s,
            )
            steps.append(step)
            if step.verdict.sustained:
                low = rate
            else:
                high = rate
        return {
            "probe": probe.as_dict() | {"output_per_s_middle": _r(probe.output_per_s_middle)},
            "steps": [s.as_dict() for s in steps],
            "max_sustained_per_s": low or None,
            "lowest_unsustained_per_s": high,
        }


def _footprint(steps: list[StepResult], end_of_run: dict[str, dict[str, float]]) -> dict[str, Any]:
    """Memory in steady state (the highest sustained latency step) and at the end of the run.

    At the end the executor's ledger cache holds every command of the run, so its RSS there
    is the run's volume as much as the service's footprint.
    """
    sustained = [s for s in steps if s.verdict.sustained] or steps[:1]
    steady = max(sustained, key=lambda s: s.rate_per_s or 0.0)
    return {
        "steady_step": steady.label,
        "steady": steady.memory,
        "end_of_run": end_of_run,
    }


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


def run_bench(options: BenchOptions) -> dict[str, Any]:
    """Run the benchmark; the result document (also written under ``options.runs_dir``)."""
    started = datetime.now(UTC)
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    run_dir = options.runs_dir / f"bench-{stamp}"
    run_dir.mkdir(parents=True, exist_ok=True)
    run_id = f"b{stamp}"
    clock = time.monotonic()
    machine = machine_info()
    broker: TansuBroker | None = None
    try:
        if options.bootstrap_servers:
            bootstrap = options.bootstrap_servers
            broker_info: dict[str, Any] = {"kind": "external", "bootstrap_servers": bootstrap}
        else:
            broker = TansuBroker(log=(run_dir / "broker.log").open("ab")).start()
            bootstrap = broker.bootstrap_servers
            broker_info = {
                "kind": "embedded",
                "version": tansu_version(tansu_binary()),
                "storage": "memory",
                "bootstrap_servers": bootstrap,
            }
        run = _Run(options, bootstrap, run_dir, run_id, broker.pid if broker else None)
        measured = asyncio.run(run.run())
    finally:
        if broker is not None:
            broker.stop()
    document: dict[str, Any] = {
        "schema": SCHEMA,
        "started_at": started.isoformat(),
        "seconds": round(time.monotonic() - clock, 1),
        "quick": options.quick,
        "machine": machine | {"broker": broker_info},
        "settings": {
            "kafka": kafka_settings(run.settings),
            "partitions": EXECUTION_PARTITIONS,
            "executors": 1,
            "venue": "paper (SQLite, synchronous=FULL, no simulated latency)",
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
    document["ok"] = all(t["value"] is not None for t in document["targets"].values()) and all(
        code == 0 for code in document["pipeline"]["exit_codes"].values()
    )
    path = options.runs_dir / f"bench-{stamp}.json"
    document["results_file"] = str(path)
    path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    return document
