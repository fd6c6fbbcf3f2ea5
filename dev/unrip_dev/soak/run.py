"""`invoke soak`: a compressed day through the whole pipeline, hostile input, one restart each.

The services run as in ``invoke dev`` on the embedded broker. The ingest replays a looping
feed (the sample feed's quotes, unique ids per pass, hostile relay frames spliced in) at
``rate_per_s`` until ``demands`` distinct demands have been published; bursts of hostile
records go straight onto the bus; each service is restarted once (SIGTERM, as a rollout
does) part-way, the executor after a corrupt record was written into its ledger. Every
process's RSS is sampled throughout. Afterwards the run is reconciled from the bus
(``ledger.RunLedger``): every demand decided, every command resulted, DLQ records by reason.

A compressed day compresses time: the services' de-duplication windows (an hour at the live
~20 demands/s) are scaled by ``live_rate_per_s / rate_per_s`` so they hold as many keys as
in production, and memory reaches the same steady state. Growth is measured from the
warm-up point (``warmup_fraction`` of the demands, after every restart) to the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from unrip.monitor.stats import PipelineStats
from unrip.runtime.kafka import ensure_topics, make_producer
from unrip.runtime.settings import ServiceSettings
from unrip.topics import CATALOGUE
from unrip.venues.feed import format_line

from unrip_dev.bench.feed import frames, speed_for
from unrip_dev.bench.machine import memory_of
from unrip_dev.bench.pipeline import RESPONSE_WINDOW_MS, write_bench_strategy
from unrip_dev.broker import TansuBroker, free_port
from unrip_dev.soak import hostile
from unrip_dev.soak.ledger import RunLedger, follow
from unrip_dev.supervisor import Supervisor, http_json, http_text, local_env

SERVICES = ("paper-venue", "executor", "reactor", "monitor", "ingest")
# Restart order and the share of the demands after which each is due (the ingest first: its
# restart must fall while it is still feeding). All in the first third, so that every service's
# windows have refilled (one window after its restart) before the warm-up point and the growth
# measured after it is the steady state's, not a window filling up.
RESTARTS = (("ingest", 0.1), ("monitor", 0.15), ("executor", 0.2), ("reactor", 0.3))


@dataclass
class SoakOptions:
    demands: int = 1_700_000  # ~20/s x 86,400 s
    rate_per_s: float = 400.0  # below the pipeline's sustained ~450-500/s (docs/benchmarks.md)
    live_rate_per_s: float = 20.0
    feed_len: int = 2_000  # distinct frames per pass of the looping feed
    bursts: int = 10  # bursts of hostile bus records over the run
    warmup_fraction: float = 0.7
    max_growth_pct: float = 10.0  # RSS growth after warm-up that still counts as flat
    sample_interval_s: float = 2.0
    drain_timeout_s: float = 300.0
    # Stop feeding after this long even short of ``demands`` (None: never); progress (restarts,
    # bursts, warm-up) then follows the time as well, and the report says how far it got.
    max_feed_s: float | None = None
    run_dir: Path = Path(".runs/soak")
    bootstrap_servers: str | None = None


@dataclass
class _Samples:
    # Per service: (progress, seconds since start, RSS MiB).
    rss: dict[str, list[tuple[float, float, float]]] = field(default_factory=dict)

    def add(self, name: str, progress: float, at_s: float, mib: float) -> None:
        self.rss.setdefault(name, []).append((progress, at_s, mib))

    def write_csv(self, path: Path) -> None:
        """Every sample, for a look at the trend behind the summary (plateau or slope)."""
        with path.open("w", encoding="utf-8") as out:
            out.write("service,progress,seconds,rss_mib\n")
            for name, samples in sorted(self.rss.items()):
                for progress, at_s, mib in samples:
                    out.write(f"{name},{progress:.4f},{at_s:.1f},{mib:.1f}\n")

    def summary(
        self, warmup: float, settled_after_s: dict[str, float]
    ) -> dict[str, dict[str, float | None]]:
        """Growth from the warm-up point to the end. A service's warm-up is reached at
        ``warmup`` of the run *and* once its windows have refilled after its restart
        (``settled_after_s``); a run too short for that reports no growth rather than a
        figure that measures a window filling up."""
        out: dict[str, dict[str, float | None]] = {}
        for name, samples in sorted(self.rss.items()):
            after = [
                mib
                for progress, at_s, mib in samples
                if progress >= warmup and at_s >= settled_after_s.get(name, 0.0)
            ]
            start = after[0] if after else None
            end = samples[-1][2] if samples else None
            growth = None
            if start and end is not None:
                growth = round((end - start) / start * 100, 1)
            out[name] = {
                "rss_mib_start": start,
                "rss_mib_end": end,
                "rss_mib_peak": max(mib for _, _, mib in samples) if samples else None,
                "rss_growth_pct": growth,
            }
        return out


class _Soak:
    def __init__(self, options: SoakOptions, bootstrap: str, run_dir: Path, run_id: str) -> None:
        self.options = options
        self.bootstrap = bootstrap
        self.run_dir = run_dir
        self.run_id = run_id
        window_s = self.window_s = 3600 * options.live_rate_per_s / options.rate_per_s
        # How long each service's memory takes to reach its steady state after a (re)start:
        # its windows, and for the monitor also its latency samples (a fixed count).
        samples_s = PipelineStats.latency_window / options.rate_per_s
        self.refill_s = {"monitor": max(window_s, samples_s)}
        self.env = {
            **local_env(bootstrap),
            "UNRIP_REACTOR_DECIDED_WINDOW_S": str(window_s),
            "UNRIP_REACTOR_SETTLED_WINDOW_S": str(window_s),
            "UNRIP_REACTOR_REBUILD_LOOKBACK_S": str(max(1, round(window_s))),
            "UNRIP_MONITOR_WINDOW_S": str(window_s),
        }
        self.supervisor = Supervisor(run_dir, self.env)
        self.ledger = RunLedger(run_id, options.feed_len)
        self.samples = _Samples()
        self.load: list[float] = []  # the machine's 1-minute load average, per sample
        self.venue_port = free_port()
        self.strategy = write_bench_strategy(run_dir / "soak-strategy.yaml")
        self.generation = 0
        self.stopping: set[str] = set()  # stopped on purpose: an exit is not a crash
        self.crashes: list[str] = []
        self.restarts: dict[str, int] = {}
        self.restart_ready_s: dict[str, float] = {}  # from respawn to ready, per service
        self.settled_after_s: dict[str, float] = {}  # when its windows are full again
        self.unclean_restarts: list[str] = []
        self.events: list[str] = []
        self.monitor_continuity: tuple[dict[str, Any], dict[str, Any]] = ({}, {})
        self.started = time.monotonic()
        self.feeding_started: float | None = None

    def log(self, event: str) -> None:
        line = f"{time.monotonic() - self.started:8.1f}s {event}"
        self.events.append(line)
        print(line, file=sys.stderr, flush=True)  # progress while a long run goes on

    @property
    def progress(self) -> float:
        done = self.ledger.demands / self.options.demands
        if self.options.max_feed_s and self.feeding_started is not None:
            elapsed = time.monotonic() - self.feeding_started
            done = max(done, elapsed / self.options.max_feed_s)
        return done

    # --- processes -----------------------------------------------------------------------

    def _feed(self) -> Path:
        """This generation's looping feed: quote frames with hostile frames spliced in."""
        path = self.run_dir / f"feed-g{self.generation}.jsonl"
        bad = hostile.relay_frames()
        every = max(1, self.options.feed_len // len(bad))
        prefix = f"{self.run_id}g{self.generation}-"
        with path.open("w", encoding="utf-8", newline="\n") as handle:
            t_ms = 0
            for n, text in enumerate(frames(prefix, self.options.feed_len)):
                handle.write(format_line(t_ms, text))
                t_ms += 1
                if n % every == every - 1 and n // every < len(bad):
                    handle.write(format_line(t_ms, bad[n // every]))
                    t_ms += 1
        return path

    def spawn(self, name: str) -> None:
        s = self.supervisor
        if name == "paper-venue":
            s.spawn_paper_venue(self.run_dir / "paper-venue.sqlite", self.venue_port)
        elif name == "executor":
            s.spawn_executor("executor", f"http://127.0.0.1:{self.venue_port}")
        elif name == "reactor":
            strategy = {"UNRIP_REACTOR_STRATEGY_FILE": str(self.strategy)}
            s.spawn("reactor", "reactor", free_port(), strategy)
        elif name == "monitor":
            s.spawn("monitor", "monitor", free_port())
        else:
            env = {
                "UNRIP_INGEST_FEED_PATH": str(self._feed()),
                "UNRIP_INGEST_FEED_PACE": "recorded",
                "UNRIP_INGEST_FEED_SPEED": str(speed_for(self.options.rate_per_s)),
                "UNRIP_INGEST_FEED_LOOP": "true",
                "UNRIP_NEAR_INTENTS_RESPONSE_WINDOW_MS": str(RESPONSE_WINDOW_MS),
            }
            s.spawn("ingest", "ingest", free_port(), env)

    async def wait_ready(self, names: list[str], timeout_s: float = 120) -> None:
        problems = await asyncio.to_thread(self.supervisor.wait_ready, names, timeout_s)
        if problems:
            tails = "\n".join(f"--- {n} ---\n{self.supervisor.log_tail(n, 20)}" for n in names)
            raise RuntimeError(f"{'; '.join(problems)}\n{tails}")

    async def stop(self, name: str) -> int | None:
        self.stopping.add(name)
        code = await asyncio.to_thread(self.supervisor.children[name].stop, 30)
        self.log(f"{name} stopped: exit {code}")
        return code

    async def restart(self, name: str) -> None:
        code = await self.stop(name)
        if code != 0:
            self.unclean_restarts.append(f"{name}: exit {code}")
        if name == "ingest":
            self.generation += 1  # fresh quote ids: a restarted feed is new traffic
        self.spawn(name)
        self.stopping.discard(name)
        started = time.monotonic()
        # Generous: the reactor rebuilds its risk state from the day's commands and results
        # before it is ready, which takes longer the further into the day it restarts.
        await self.wait_ready([name], timeout_s=900)
        self.restarts[name] = self.restarts.get(name, 0) + 1
        self.restart_ready_s[name] = round(time.monotonic() - started, 1)
        # Its de-duplication windows refill for one window after the restart.
        refill_s = self.refill_s.get(name, self.window_s)
        self.settled_after_s[name] = time.monotonic() - self.started + refill_s
        self.log(f"{name} restarted at {self.progress:.0%} of the demands")

    # --- the run -------------------------------------------------------------------------

    async def sample(self, stop: asyncio.Event) -> None:
        """RSS of every service every few seconds; an unexpected exit is a crash (respawned)."""
        while not stop.is_set():
            progress = self.progress
            self.load.append(os.getloadavg()[0])  # a shared machine's noise, in the report
            for name, child in list(self.supervisor.children.items()):
                if child.process is None or name in self.stopping:
                    continue
                if not child.running:
                    code = child.process.poll()
                    self.crashes.append(f"{name}: exit {code} at {progress:.0%}")
                    self.log(f"CRASH {name} exit {code}\n{self.supervisor.log_tail(name, 20)}")
                    self.spawn(name)
                    continue
                memory = memory_of(child.process.pid)
                if memory is not None:
                    at_s = time.monotonic() - self.started
                    self.samples.add(name, progress, at_s, memory["rss_mib"])
            with contextlib.suppress(TimeoutError):  # the sampling period
                await asyncio.wait_for(stop.wait(), self.options.sample_interval_s)

    async def run(self) -> dict[str, Any]:
        o = self.options
        await ensure_topics(self.bootstrap, CATALOGUE)
        follow_stop, sample_stop = asyncio.Event(), asyncio.Event()
        follower = asyncio.create_task(follow(self.bootstrap, self.ledger, follow_stop))
        producer = make_producer(ServiceSettings(kafka_bootstrap_servers=self.bootstrap), "soak")
        await producer.start()
        sampler: asyncio.Task[None] | None = None
        try:
            for name in SERVICES[:-1]:
                self.spawn(name)
            await self.wait_ready(list(SERVICES[:-1]))
            self.spawn("ingest")
            await self.wait_ready(["ingest"])
            self.log("pipeline ready; feeding")
            feeding_started = self.feeding_started = time.monotonic()
            sampler = asyncio.create_task(self.sample(sample_stop))
            bursts_sent = 0
            pending = list(RESTARTS)
            while self.progress < 1.0 or pending:
                if bursts_sent < o.bursts and self.progress >= bursts_sent / o.bursts:
                    self.log(f"sending hostile burst {bursts_sent + 1}")
                    await hostile.send(producer, hostile.bus_records(bursts_sent))
                    bursts_sent += 1
                    self.log(f"hostile burst {bursts_sent} sent at {self.progress:.0%}")
                if pending and self.progress >= pending[0][1]:
                    name, _ = pending.pop(0)
                    self.log(f"restarting {name} at {self.progress:.0%}")
                    if name == "executor":
                        await hostile.send(producer, [hostile.unreadable_ledger_record()])
                    monitor_before = self._monitor_stats()
                    await self.restart(name)
                    if name == "monitor":
                        self.monitor_continuity = (monitor_before, self._monitor_stats())
                    continue
                await asyncio.sleep(0.5)  # polling the run's progress
            feeding_s = time.monotonic() - feeding_started
            await self.stop("ingest")
            drained = await self._drain()
            sample_stop.set()
            await sampler
            monitor = self._monitor_stats()
            quarantined = self._metric("executor", "unrip_executor_ledger_quarantined_total")
            codes = await asyncio.to_thread(self.supervisor.stop_all, 30)
        finally:
            sample_stop.set()
            follow_stop.set()
            if sampler is not None and not sampler.done():
                sampler.cancel()
            await producer.stop()
            await follower
            self.supervisor.stop_all(30)
        before, after = self.monitor_continuity
        return {
            "demands": self.ledger.demands,
            "demands_target": o.demands,
            "commands": self.ledger.stages["commanded"].count,
            "skips": self.ledger.stages["skipped"].count,
            "results": self.ledger.stages["resulted"].count,
            "lost": self.ledger.lost(),
            "drained": drained,
            "dlq": self.ledger.dlq_by_reason(),
            "dlq_total": sum(self.ledger.dlq.values()),
            "crashes": len(self.crashes),
            "crash_details": self.crashes,
            "restarts": dict(sorted(self.restarts.items())),
            "restart_ready_s": dict(sorted(self.restart_ready_s.items())),
            "unclean_restarts": self.unclean_restarts,
            "final_exit_codes": codes,
            "ledger_records_quarantined": quarantined,
            "monitor": {
                "demands_before_restart": before.get("demands"),
                "demands_after_restart": after.get("demands"),
                "demands_at_end": monitor.get("demands"),
                "results_at_end": monitor.get("results"),
                "pnl_usd_at_end": monitor.get("pnl_usd"),
                "skip_reasons_at_end": monitor.get("skip_reasons"),
            },
            "services": self._services(),
            "rate_per_s": o.rate_per_s,
            "load_avg_1m": _spread(self.load),
            "demands_per_s_achieved": round(self.ledger.demands / feeding_s, 1),
            "window_s": float(self.env["UNRIP_MONITOR_WINDOW_S"]),
            "events": self.events,
        }

    def _services(self) -> dict[str, dict[str, float | None]]:
        self.samples.write_csv(self.run_dir / "rss.csv")
        return self.samples.summary(self.options.warmup_fraction, self.settled_after_s)

    async def _drain(self) -> bool:
        deadline = time.monotonic() + self.options.drain_timeout_s
        while time.monotonic() < deadline:
            if self.ledger.lost() == 0:
                return True
            await asyncio.sleep(1.0)  # polling the bus account until every demand is settled
        return False

    def _monitor_stats(self) -> dict[str, Any]:
        child = self.supervisor.children.get("monitor")
        if child is None:
            return {}
        status, body = http_json(f"{child.url}/stats", timeout=5)
        return body if status == 200 and isinstance(body, dict) else {}

    def _metric(self, name: str, metric: str) -> float | None:
        child = self.supervisor.children.get(name)
        text = http_text(f"{child.url}/metrics", timeout=5) if child else None
        if text is None:
            return None
        values = re.findall(rf"^{metric}(?:{{[^}}]*}})? ([0-9.e+]+)$", text, re.MULTILINE)
        return sum(float(v) for v in values)


def _spread(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    mean = sum(values) / len(values)
    return {"min": round(min(values), 2), "mean": round(mean, 2), "max": round(max(values), 2)}


def run_soak(options: SoakOptions) -> dict[str, Any]:
    started = time.monotonic()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = options.run_dir / f"soak-{stamp}"
    run_dir.mkdir(parents=True, exist_ok=True)
    run_id = f"soak{stamp[9:15]}"
    if options.bootstrap_servers:
        report = asyncio.run(_Soak(options, options.bootstrap_servers, run_dir, run_id).run())
    else:
        with TansuBroker(log=(run_dir / "broker.log").open("ab")) as broker:
            report = asyncio.run(_Soak(options, broker.bootstrap_servers, run_dir, run_id).run())
    report["time_s"] = round(time.monotonic() - started, 1)
    report["run_dir"] = str(run_dir)
    report.update(verdict(report, options.max_growth_pct))
    return report


def verdict(report: dict[str, Any], max_growth_pct: float) -> dict[str, Any]:
    """``ok``: nothing lost, no crash, every restart clean and done, memory flat after warm-up.

    ``memory_flat`` is judged only on services with a growth figure: a run too short to pass
    a service's warm-up has none, and says so in ``memory_unmeasured`` rather than passing
    or failing on a window that was still filling.
    """
    services: dict[str, dict[str, Any]] = report["services"]
    grown = {
        name: figures["rss_growth_pct"]
        for name, figures in services.items()
        if figures["rss_growth_pct"] is not None and figures["rss_growth_pct"] > max_growth_pct
    }
    unmeasured = sorted(name for name, f in services.items() if f["rss_growth_pct"] is None)
    ok = (
        report["lost"] == 0
        and report["crashes"] == 0
        and not report["unclean_restarts"]
        and all(code == 0 for code in report["final_exit_codes"].values())
        and len(report["restarts"]) == len(RESTARTS)
        and not grown
    )
    return {
        "ok": ok,
        "memory_flat": not grown,
        "memory_grown": grown,
        "memory_unmeasured": unmeasured,
    }
