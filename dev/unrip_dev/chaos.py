"""`invoke chaos`: prove the executor never duplicates nor loses a trade while being killed.

Several executor processes share the commands through one consumer group on the real broker.
Thousands of commands are sent (some deliberately twice) while executors are SIGKILLed at
random moments and restarted, each is restarted once with SIGTERM (a rolling deploy), and
optionally one is SIGSTOPped past its session so its partitions move while it is frozen (a
zombie). A blow falls on an executor that is back in the group; killing one while it is
still joining leaves a ghost member in Tansu (docs/decisions.md). Afterwards the paper
venue's book and ``exec.trade_result`` are reconciled against what was sent.
"""

from __future__ import annotations

import asyncio
import random
import signal
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from unrip.contracts import ContractError, TradeResultV1, decode
from unrip.runtime.kafka import Outgoing, ensure_topics, make_producer, publish_all
from unrip.runtime.replay import read_to_end
from unrip.runtime.settings import ServiceSettings
from unrip.topics import CATALOGUE, CMD_EXECUTE_TRADE, EXEC_TRADE_RESULT

from unrip_dev.broker import TansuBroker, free_port
from unrip_dev.commands import synthetic_command
from unrip_dev.supervisor import Supervisor, http_json, local_env, local_signer
from unrip_dev.venues.near_intents.standin_process import NearStandin


@dataclass
class ChaosOptions:
    commands: int = 3000
    duplicate_ratio: float = 0.05
    executors: int = 2
    kills: int = 4
    rolling_restart: bool = True
    pauses: int = 0  # SIGSTOP past the session timeout, then SIGCONT
    rate_per_s: float = 250.0
    venue_latency_ms: float = 2.0
    session_timeout_ms: int = 6000
    settle_timeout_s: float = 180.0
    seed: int | None = None
    run_dir: Path = Path(".runs/chaos")
    bootstrap_servers: str | None = None
    # Called with each event (every blow, restart, readiness) and the running tally while the
    # run goes on, so a run of minutes is never silent (`invoke chaos` prints them).
    progress: Callable[[str], None] | None = None
    # "paper", or "near_intents": executors answer quotes on the relay/RPC stand-in process.
    venue: str = "paper"
    near_fill_share: float = 0.3
    near_quote_validity_ms: int = 15_000  # how long a losing quote stays outstanding
    near_response_window_s: float = 10.0  # each command's deadline after its send time


@dataclass
class ChaosReport:
    commands: int
    resent_duplicates: int
    executed: int  # distinct orders the venue executed (filled or not)
    fills: int
    duplicates: int  # venue orders beyond one per command + commands with 2+ distinct results
    duplicate_submissions: int  # an executor submitted an already-executed order (venue fenced)
    lost: int  # commands with no venue order or no result
    results: int
    result_records: int
    conflicting_results: int
    kills: int
    sigterm_restarts: int
    clean_sigterm_exits: int
    pauses: int
    seconds: float
    seed: int
    venue: str = "paper"
    rolling_exit_codes: list[int | None] = field(default_factory=list)
    max_outstanding: int = 0  # peak quotes awaiting settlement (NEAR)
    events: list[str] = field(default_factory=list)

    @property
    def rolling_restarts(self) -> int:
        return self.sigterm_restarts

    @property
    def time_s(self) -> float:
        return self.seconds

    @property
    def ok(self) -> bool:
        return (
            self.duplicates == 0
            and self.lost == 0
            and self.conflicting_results == 0
            and self.clean_sigterm_exits == self.sigterm_restarts
            and (self.pauses > 0 or self.duplicate_submissions == 0)
        )

    def as_dict(self) -> dict[str, Any]:
        extra = {"rolling_restarts": self.rolling_restarts, "time_s": self.time_s}
        return {**asdict(self), **extra, "ok": self.ok}


class _Cluster:
    def __init__(self, options: ChaosOptions, bootstrap: str, run_dir: Path) -> None:
        self.options = options
        env = {
            **local_env(bootstrap, session_timeout_ms=options.session_timeout_ms),
            "UNRIP_KAFKA_MAX_POLL_RECORDS": "200",
            "UNRIP_SHUTDOWN_GRACE_S": "15",
        }
        self.supervisor = Supervisor(run_dir, env)
        self.venue_port = free_port()
        self.near: NearStandin | None = None
        self.names = [f"executor-{i}" for i in range(1, options.executors + 1)]
        self.events: list[str] = []
        self.started = time.monotonic()
        self.tally = {"sent": 0, "kills": 0, "pauses": 0, "restarts": 0, "results": 0}

    def log(self, event: str) -> None:
        line = f"{time.monotonic() - self.started:7.2f}s {event}"
        self.events.append(line)
        if self.options.progress is not None:
            counts = " ".join(f"{key} {value}" for key, value in self.tally.items())
            self.options.progress(f"{line}  [{counts}]")

    def start_venue(self, db: Path) -> None:
        self.supervisor.spawn_paper_venue(
            db, self.venue_port, {"UNRIP_PAPER_LATENCY_MS": str(self.options.venue_latency_ms)}
        )

    def start_executor(self, name: str) -> None:
        if self.near is None:
            self.supervisor.spawn_executor(name, f"http://127.0.0.1:{self.venue_port}")
            return
        self.supervisor.spawn(name, "executor", free_port(), self.near.executor_env())

    def wait_ready(self, names: list[str], timeout_s: float = 90) -> None:
        problems = self.supervisor.wait_ready(names, timeout_s)
        if problems:
            tails = "\n".join(f"--- {n} ---\n{self.supervisor.log_tail(n, 15)}" for n in names)
            events = "\n".join(self.events)
            raise RuntimeError(f"{'; '.join(problems)}\nevents:\n{events}\n{tails}")


async def _produce(
    options: ChaosOptions,
    bootstrap: str,
    run_id: str,
    rng: random.Random,
    cluster: _Cluster | None = None,
) -> int:
    """Send every command once, plus re-sends of a random share, at a steady rate."""
    signer = local_signer()
    producer = make_producer(ServiceSettings(kafka_bootstrap_servers=bootstrap), "chaos")
    await producer.start()
    try:
        now = datetime.now(UTC)
        envelopes = [
            synthetic_command(
                n,
                now=now,
                deadline=_deadline(options, n),
                run_id=run_id,
                quote_validity_ms=_validity_ms(options),
            )
            for n in range(options.commands)
        ]
        resend = rng.sample(
            range(options.commands), int(options.commands * options.duplicate_ratio)
        )
        order = list(range(options.commands))
        for n in resend:  # re-sent later in the stream, as a retrying upstream would
            order.insert(rng.randint(n + 1, len(order)), n)
        chunk = max(1, int(options.rate_per_s / 20))
        started = time.monotonic()
        for i in range(0, len(order), chunk):
            batch = [
                Outgoing(
                    CMD_EXECUTE_TRADE,
                    envelopes[n].payload.command_id,
                    envelopes[n],
                    headers=signer.headers(envelopes[n]),
                )
                for n in order[i : i + chunk]
            ]
            await publish_all(producer, batch)
            if cluster is not None:
                before = cluster.tally["sent"]
                cluster.tally["sent"] = min(i + chunk, len(order))
                if before * 10 // len(order) != cluster.tally["sent"] * 10 // len(order):
                    cluster.log(f"sent {cluster.tally['sent']}/{len(order)} commands")
            due = started + (i + chunk) / options.rate_per_s
            await asyncio.sleep(max(0.0, due - time.monotonic()))  # pacing the send rate
        return len(resend)
    finally:
        await producer.stop()


def _deadline(options: ChaosOptions, n: int) -> timedelta:
    if options.venue != "near_intents":
        return timedelta(minutes=30)
    # A quote is answerable for a short window after it is sent (as on the relay), so its
    # intent expires soon after; resends of the same command keep the first deadline.
    send_at = n * (1 + options.duplicate_ratio) / options.rate_per_s
    return timedelta(seconds=send_at + options.near_response_window_s)


def _validity_ms(options: ChaosOptions) -> int:
    return options.near_quote_validity_ms if options.venue == "near_intents" else 60_000


async def _havoc(
    cluster: _Cluster, options: ChaosOptions, rng: random.Random, window_s: float
) -> dict[str, Any]:
    """Random SIGKILLs (and pauses) inside the send window, then a rolling SIGTERM restart."""
    done: dict[str, Any] = {
        "kills": 0,
        "sigterm_restarts": 0,
        "clean_sigterm_exits": 0,
        "pauses": 0,
        "exit_codes": [],
    }
    schedule = sorted(
        [(rng.uniform(0.1, 0.9) * window_s, "kill") for _ in range(options.kills)]
        + [(rng.uniform(0.2, 0.6) * window_s, "pause") for _ in range(options.pauses)]
    )
    started = time.monotonic()
    for at, action in schedule:
        await asyncio.sleep(max(0.0, started + at - time.monotonic()))  # the kill schedule
        name = rng.choice(cluster.names)
        child = cluster.supervisor.children[name]
        if action == "kill":
            if not child.running:
                continue
            child.signal(signal.SIGKILL)
            await asyncio.to_thread(child.stop, 5)
            done["kills"] += 1
            cluster.tally["kills"] += 1
            cluster.log(f"SIGKILL {name}")
            await asyncio.sleep(rng.uniform(0.0, 1.0))  # down for a random while
            cluster.start_executor(name)
            cluster.log(f"restarted {name}")
            # Back in the group before the next blow: Tansu 0.6 keeps a member killed while
            # it is still joining as a ghost that never expires, and a ghost stalls every
            # later rebalance (docs/decisions.md). Kafka and Redpanda expire it.
            await asyncio.to_thread(cluster.wait_ready, [name])
            cluster.log(f"{name} ready")
        else:
            child.signal(signal.SIGSTOP)
            cluster.log(f"SIGSTOP {name}")
            await asyncio.sleep(options.session_timeout_ms / 1000 * 1.5)  # past its session
            child.signal(signal.SIGCONT)
            done["pauses"] += 1
            cluster.tally["pauses"] += 1
            cluster.log(f"SIGCONT {name}")
            await asyncio.to_thread(cluster.wait_ready, [name])  # rejoined (see above)
            cluster.log(f"{name} ready")
    await asyncio.to_thread(cluster.wait_ready, cluster.names)
    if options.rolling_restart:
        for name in cluster.names:  # one at a time, like a Deployment's rolling update
            child = cluster.supervisor.children[name]
            code = await asyncio.to_thread(child.stop, 30)
            done["sigterm_restarts"] += 1
            done["clean_sigterm_exits"] += int(code == 0)
            cluster.tally["restarts"] += 1
            done["exit_codes"].append(code)
            cluster.log(f"SIGTERM {name}: exit {code}")
            cluster.start_executor(name)
            await asyncio.to_thread(cluster.wait_ready, [name])
            cluster.log(f"restarted {name}")
    return done


async def _results(bootstrap: str) -> tuple[dict[str, set[str]], int]:
    by_command: dict[str, set[str]] = defaultdict(set)
    records = 0
    async for record in read_to_end(bootstrap, [EXEC_TRADE_RESULT], client_id="unrip-chaos"):
        try:
            envelope = decode(record.value, record.headers, accept=(TradeResultV1,))
        except ContractError:
            continue
        records += 1
        by_command[envelope.payload.command_id].add(envelope.event_id)
    return by_command, records


async def _run(options: ChaosOptions, bootstrap: str, run_dir: Path, seed: int) -> ChaosReport:
    rng = random.Random(seed)  # noqa: S311 (a reproducible kill schedule, not a secret)
    await ensure_topics(bootstrap, CATALOGUE)
    cluster = _Cluster(options, bootstrap, run_dir)
    try:
        if options.venue == "near_intents":
            cluster.near = NearStandin.start(run_dir, options.near_fill_share)
        else:
            cluster.start_venue(run_dir / "paper-venue.sqlite")
            await asyncio.to_thread(cluster.wait_ready, ["paper-venue"])
        for name in cluster.names:
            cluster.start_executor(name)
        await asyncio.to_thread(cluster.wait_ready, cluster.names)
        cluster.log(f"{len(cluster.names)} executors ready")
        run_id = f"chaos{seed}"
        window_s = options.commands * (1 + options.duplicate_ratio) / options.rate_per_s
        produced, havoc = await asyncio.gather(
            _produce(options, bootstrap, run_id, rng, cluster),
            _havoc(cluster, options, rng, window_s),
        )
        cluster.log("all commands sent, havoc done; waiting for every result")
        deadline = time.monotonic() + options.settle_timeout_s
        while True:
            results, records = await _results(bootstrap)
            if len(results) != cluster.tally["results"]:
                cluster.tally["results"] = len(results)
                cluster.log(f"{len(results)}/{options.commands} commands have a result")
            if len(results) >= options.commands or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)  # polling the results topic until it is complete
        if cluster.near is not None:
            return _near_report(
                options,
                cluster,
                cluster.near.stats(),
                results,
                records,
                produced,
                havoc,
                seed,
                run_id,
            )
        venue_url = f"http://127.0.0.1:{cluster.venue_port}"
        _, stats = http_json(f"{venue_url}/v1/stats", timeout=10)
        _, submissions = http_json(f"{venue_url}/v1/submissions", timeout=30)
        expected = {
            synthetic_command(
                n, now=datetime.now(UTC), deadline=timedelta(0), run_id=run_id
            ).payload
            for n in range(options.commands)
        }
        expected_orders = {c.client_order_id for c in expected}
        expected_commands = {c.command_id for c in expected}
        executed_orders = set(submissions)
        lost = len(expected_orders - executed_orders) + len(expected_commands - set(results))
        conflicting = sum(1 for ids in results.values() if len(ids) > 1)
        return ChaosReport(
            commands=options.commands,
            resent_duplicates=produced,
            executed=stats["orders"],
            fills=stats["filled"],
            duplicates=max(0, stats["orders"] - len(expected_orders)) + conflicting,
            duplicate_submissions=stats["duplicate_submissions"],
            lost=lost,
            results=len(results),
            result_records=records,
            conflicting_results=conflicting,
            kills=havoc["kills"],
            sigterm_restarts=havoc["sigterm_restarts"],
            clean_sigterm_exits=havoc["clean_sigterm_exits"],
            pauses=havoc["pauses"],
            seconds=round(time.monotonic() - cluster.started, 1),
            seed=seed,
            rolling_exit_codes=havoc["exit_codes"],
            events=cluster.events,
        )
    finally:
        cluster.supervisor.stop_all(timeout_s=20)
        if cluster.near is not None:
            cluster.near.stop()


def _near_report(
    options: ChaosOptions,
    cluster: _Cluster,
    stats: dict[str, int],
    results: dict[str, set[str]],
    records: int,
    produced: int,
    havoc: dict[str, Any],
    seed: int,
    run_id: str,
) -> ChaosReport:
    """NEAR: every command one result; no quote answered twice (the stand-in counts them)."""
    expected = {
        synthetic_command(
            n, now=datetime.now(UTC), deadline=timedelta(0), run_id=run_id
        ).payload.command_id
        for n in range(options.commands)
    }
    conflicting = sum(1 for ids in results.values() if len(ids) > 1)
    return ChaosReport(
        commands=options.commands,
        resent_duplicates=produced,
        executed=stats["quotes"],
        fills=stats["fills"],
        duplicates=stats["duplicates"] + conflicting,
        duplicate_submissions=stats["duplicates"],
        lost=len(expected - set(results)) + conflicting,
        results=len(results),
        result_records=records,
        conflicting_results=conflicting,
        kills=havoc["kills"],
        sigterm_restarts=havoc["sigterm_restarts"],
        clean_sigterm_exits=havoc["clean_sigterm_exits"],
        pauses=havoc["pauses"],
        seconds=round(time.monotonic() - cluster.started, 1),
        seed=seed,
        venue="near_intents",
        rolling_exit_codes=havoc["exit_codes"],
        max_outstanding=stats["max_outstanding"],
        events=cluster.events,
    )


def run_chaos(options: ChaosOptions) -> ChaosReport:
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(1 << 30)
    run_dir = options.run_dir / datetime.now(UTC).strftime(f"chaos-%Y%m%dT%H%M%SZ-{seed}")
    run_dir.mkdir(parents=True, exist_ok=True)
    if options.bootstrap_servers:
        return asyncio.run(_run(options, options.bootstrap_servers, run_dir, seed))
    with TansuBroker(log=(run_dir / "broker.log").open("ab")) as broker:
        return asyncio.run(_run(options, broker.bootstrap_servers, run_dir, seed))
