"""`invoke dev`: the real pipeline on one machine, every service its own process.

Starts the embedded broker (or uses ``--bootstrap-servers``), creates the catalogue's topics,
starts the price ingest (``--prices``: a recorded path of the NEAR Intents price stream, the
live 1Click token list, or ``static`` strategy prices with no price ingest), paper venue
(whose takers see the same path a few seconds ahead), executor(s), reactor and monitor, then
the quote ingest on the live relay or a recorded feed, and shows live progress. On ``--for``
expiry or Ctrl-C it stops the ingests, lets the pipeline drain, stops everything in order and
reconciles and values the run from the bus.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from types import FrameType
from typing import Any, Final, Literal

from rich.console import Console
from rich.live import Live
from rich.table import Table
from unrip.contracts.envelope import utc_now
from unrip.reactor.strategy import DEFAULT_STRATEGY_PATH, load_strategy
from unrip.runtime.kafka import ensure_topics
from unrip.topics import CATALOGUE
from unrip.venues import registry
from unrip.venues.near_intents.prices import PRICE_PATHS, recorded_prices

from unrip_dev.archive_run import archiver_env, wait_archived
from unrip_dev.broker import TansuBroker, free_port
from unrip_dev.prometheus import alerts, start_local_prometheus
from unrip_dev.report.html import write_report
from unrip_dev.report.timeline import read_timeline
from unrip_dev.supervisor import Supervisor, http_json, local_env
from unrip_dev.tally import tally_bus

CENT: Final = Decimal("0.01")

Source = Literal["file", "live"]
PRICE_CHOICES = (*PRICE_PATHS, "live", "static")
DEFAULT_PRICES = "calm"


@dataclass
class DevOptions:
    duration_s: float | None = None
    as_json: bool = False
    bootstrap_servers: str | None = None
    source: Source = "file"
    feed: Path | None = None
    pace: Literal["recorded", "fast"] = "recorded"
    speed: float = 1.0
    loop: bool = False
    executors: int = 1
    runs_dir: Path = Path(".runs")
    drain_timeout_s: float = 30.0
    # The HTML report (pictures of the run); default: report.html in the run's directory.
    report: Path | None = None
    # A local Prometheus scraping the services with the pipeline alert rules.
    prometheus: bool = False
    # Also run the archiver, archiving every event into this directory.
    archive: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)
    # A recorded price path (calm, trending, adverse), live (1Click) or static strategy prices.
    prices: str = DEFAULT_PRICES


def choose_source(requested: str, venue: str = "near_intents") -> Source:
    """``auto``: the venue's live source when it is configured and reachable, else its feed."""
    if requested in ("file", "relay", "live"):
        return "file" if requested == "file" else "live"
    if requested != "auto":
        raise ValueError(f"source must be auto, file, live or relay, not {requested!r}")
    return "live" if registry.load(venue).stream().live_configured() else "file"


class _Interrupted:
    def __init__(self) -> None:
        self.hit = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.hit = True


def _progress_table(
    stats: dict[str, Any] | None, elapsed: float, children: dict[str, bool]
) -> Table:
    table = Table(title=f"unrip dev — {elapsed:5.1f}s", show_header=True, header_style="bold")
    table.add_column("stage")
    table.add_column("count", justify="right")
    if stats:
        latency = stats.get("latency_ms", {})
        rows = [
            ("demands", stats["demands"]),
            ("commands", stats["commands"]),
            ("skips", stats["skips"]),
            ("results", stats["results"]),
            ("  fill rate", stats["fill_rate"]),
            ("  PnL USD at quote prices", usd(stats["pnl_usd"])),
            ("awaiting result", stats["awaiting_result"]),
            ("dead letters", stats["dead_letters_total"]),
            ("latency p50 ms", _ms(latency.get("p50"))),
            ("latency p99 ms", _ms(latency.get("p99"))),
        ]
        for name, value in rows:
            table.add_row(name, str(value))
    down = [name for name, alive in children.items() if not alive]
    table.caption = "services: all running" if not down else f"[red]stopped: {', '.join(down)}"
    return table


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def usd(value: object) -> str:
    """A dollar amount for people: cents, half-even (the JSON summary keeps the exact value)."""
    if value is None:
        return "-"
    return str(Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_EVEN))


def run_dev(options: DevOptions) -> int:
    """Run the local pipeline; returns the process exit code (0: nothing lost, clean stops)."""
    console = Console(stderr=True)
    run_dir = options.runs_dir / datetime.now(UTC).strftime("dev-%Y%m%dT%H%M%SZ")
    run_dir.mkdir(parents=True, exist_ok=True)
    interrupted = _Interrupted()
    previous = {sig: signal.signal(sig, interrupted) for sig in (signal.SIGINT, signal.SIGTERM)}
    broker: TansuBroker | None = None
    supervisor: Supervisor | None = None
    try:
        if options.bootstrap_servers:
            bootstrap = options.bootstrap_servers
        else:
            broker = TansuBroker(log=(run_dir / "broker.log").open("ab")).start()
            bootstrap = broker.bootstrap_servers
        report = asyncio.run(ensure_topics(bootstrap, CATALOGUE))
        console.print(
            f"broker {bootstrap}: {len(report.created)} topics created, "
            f"{len(report.existing)} existing; logs in {run_dir}"
        )
        if report.mismatched:
            console.print(f"[red]topic mismatch: {report.mismatched}")
            return 2
        supervisor = Supervisor(run_dir, {**local_env(bootstrap), **options.extra_env})
        price_env, paper_env, reactor_env = _price_wiring(options.prices, run_dir)
        ingests = ["ingest"]
        if price_env is not None:
            supervisor.spawn("ingest-prices", "ingest", free_port(), price_env)
            ingests.insert(0, "ingest-prices")
        venue = supervisor.spawn_paper_venue(run_dir / "paper-venue.sqlite", env=paper_env)
        executors = [f"executor-{i}" for i in range(1, options.executors + 1)]
        for name in executors:
            supervisor.spawn_executor(name, venue.url)
        supervisor.spawn("reactor", "reactor", free_port(), reactor_env)
        monitor = supervisor.spawn("monitor", "monitor", free_port())
        core = ["paper-venue", *executors, "reactor", "monitor"]
        if options.archive is not None:
            # Started with the others, stopped after them once it holds what the bus holds.
            supervisor.spawn(
                "archiver", "archiver", free_port(), archiver_env(options.archive, quick=True)
            )
        archiver = ["archiver"] if options.archive is not None else []
        problems = supervisor.wait_ready([*ingests[:-1], *core, *archiver], timeout_s=60)
        if problems:
            for problem in problems:
                console.print(f"[red]{problem}")
            return 1
        ingest_env = {
            "UNRIP_INGEST_SOURCE": options.source,
            "UNRIP_INGEST_FEED_PACE": options.pace,
            "UNRIP_INGEST_FEED_SPEED": str(options.speed),
            "UNRIP_INGEST_FEED_LOOP": "true" if options.loop else "false",
        }
        if options.feed is not None:
            ingest_env["UNRIP_INGEST_FEED_PATH"] = str(options.feed)
        supervisor.spawn("ingest", "ingest", free_port(), ingest_env)
        problems = supervisor.wait_ready(["ingest"], timeout_s=30)
        if problems:
            for problem in problems:
                console.print(f"[red]{problem}")
            return 1
        prometheus = None
        if options.prometheus:
            names = {n: "executor" if n.startswith("executor-") else n for n in [*core, "ingest"]}
            if "ingest-prices" in ingests:
                names["ingest-prices"] = "ingest-prices"
            prometheus = start_local_prometheus(supervisor, names)
            console.print(f"Prometheus {prometheus.url} with the pipeline alert rules: /alerts")
        console.print(
            f"pipeline running ({options.source} source, {options.prices} prices); Ctrl-C stops it"
        )
        started = time.monotonic()
        stats: dict[str, Any] | None = None
        with Live(console=console, refresh_per_second=4, transient=False) as live:
            while not interrupted.hit:
                elapsed = time.monotonic() - started
                if options.duration_s is not None and elapsed >= options.duration_s:
                    break
                status, body = http_json(f"{monitor.url}/stats")
                stats = body if status == 200 else stats
                alive = {n: c.running for n, c in supervisor.children.items()}
                live.update(_progress_table(stats, elapsed, alive))
                if not all(alive.values()):
                    break
                time.sleep(0.25)  # refresh cadence of the progress display
        ran_s = time.monotonic() - started
        crashed = [n for n, c in supervisor.children.items() if not c.running]
        seen_alerts = alerts(prometheus) if prometheus is not None else None
        # Stop the source first, then let everything already on the bus reach its end.
        exit_codes = supervisor.stop(list(reversed(ingests)), timeout_s=20)
        drained, stats = _drain(monitor.url, options.drain_timeout_s)
        exit_codes |= supervisor.stop([*reversed(core)], timeout_s=30)
        tally = asyncio.run(tally_bus(bootstrap))
        summary = _summary(tally.summary(), stats, exit_codes, ran_s, drained, crashed, run_dir)
        if options.archive is not None:
            archived = wait_archived(bootstrap, options.archive, options.drain_timeout_s)
            exit_codes |= supervisor.stop(["archiver"], timeout_s=30)
            summary["archive"] = {"path": str(options.archive), **archived}
            summary["ok"] = summary["ok"] and archived["complete"] and exit_codes["archiver"] == 0
        summary["prices"] = options.prices
        summary["pnl_usd"] = float(round(tally.pnl_usd(_static_prices()), 2))
        if seen_alerts is not None:
            summary["alerts"] = seen_alerts  # pending or firing when the run ended
        report_path = write_report(
            options.report or run_dir / "report.html",
            summary,
            asyncio.run(read_timeline(bootstrap)),
        )
        summary["report"] = str(report_path)
        _print_summary(console, summary)
        if options.as_json:
            print(json.dumps(summary, sort_keys=True))
        return 0 if summary["ok"] else 1
    finally:
        if supervisor is not None:
            supervisor.stop_all(timeout_s=10)
        if broker is not None:
            broker.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _price_wiring(
    prices: str, run_dir: Path
) -> tuple[dict[str, str] | None, dict[str, str], dict[str, str]]:
    """Environments of the price ingest (None: none), the paper venue and the reactor."""
    if prices not in PRICE_CHOICES:
        raise ValueError(f"--prices must be one of {', '.join(PRICE_CHOICES)}, not {prices!r}")
    if prices == "static":
        strategy = run_dir / "strategy-static.yaml"
        strategy.write_text(
            DEFAULT_STRATEGY_PATH.read_text().replace("source: bus", "source: static", 1)
        )
        return None, {}, {"UNRIP_REACTOR_STRATEGY_FILE": str(strategy)}
    ingest = {"UNRIP_INGEST_VENUE": "near_intents", "UNRIP_INGEST_STREAM": "prices"}
    if prices == "live":
        return {**ingest, "UNRIP_INGEST_SOURCE": "live"}, {}, {}
    path = recorded_prices(prices)
    ingest |= {
        "UNRIP_INGEST_SOURCE": "file",
        "UNRIP_INGEST_FEED_PATH": str(path),
        "UNRIP_INGEST_FEED_PACE": "recorded",
        "UNRIP_INGEST_FEED_LOOP": "true",
    }
    # The paper venue's takers read the same path, anchored where the ingest starts it.
    paper = {
        "UNRIP_PAPER_PRICE_PATH": str(path),
        "UNRIP_PAPER_PRICE_PATH_STARTED_AT": utc_now().isoformat(),
    }
    return ingest, paper, {}


def _static_prices() -> dict[str, tuple[int, Decimal]]:
    # What fills are valued at when no price was published (--prices static).
    strategy = load_strategy(DEFAULT_STRATEGY_PATH)
    return {
        asset_id: (config.decimals, config.usd_price)
        for asset_id, config in strategy.assets.items()
        if config.usd_price is not None
    }


def _drain(monitor_url: str, timeout_s: float) -> tuple[bool, dict[str, Any] | None]:
    deadline = time.monotonic() + timeout_s
    stats: dict[str, Any] | None = None
    stable = 0
    while time.monotonic() < deadline:
        status, body = http_json(f"{monitor_url}/stats")
        if status == 200:
            settled = body["undecided_demands"] == 0 and body["awaiting_result"] == 0
            # Settled twice in a row with no new demands: nothing is still on its way.
            stable = stable + 1 if settled and stats and stats["demands"] == body["demands"] else 0
            stats = body
            if stable >= 2:
                return True, stats
        time.sleep(0.25)  # polling the monitor's view of the pipeline
    return False, stats


def _summary(
    bus: dict[str, Any],
    stats: dict[str, Any] | None,
    exit_codes: dict[str, int | None],
    ran_s: float,
    drained: bool,
    crashed: list[str],
    run_dir: Path,
) -> dict[str, Any]:
    latency = (stats or {}).get("latency_ms", {})
    unclean = {n: c for n, c in exit_codes.items() if c != 0}
    ok = (
        drained
        and not crashed
        and not unclean
        and bus["lost_demands"] == 0
        and bus["commands_without_result"] == 0
        and bus["conflicting_results"] == 0
        and bus["demands_decided_twice"] == 0
    )
    return {
        "ok": ok,
        "seconds": round(ran_s, 1),
        **bus,
        "fill_rate": (stats or {}).get("fill_rate"),
        "pnl_at_quote_usd": (stats or {}).get("pnl_usd"),
        "latency_ms": {k: latency.get(k) for k in ("samples", "p50", "p99", "max")},
        "drained": drained,
        "crashed": crashed,
        "unclean_exits": unclean,
        "run_dir": str(run_dir),
    }


def _print_summary(console: Console, summary: dict[str, Any]) -> None:
    table = Table(title="unrip dev — summary", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    for key in (
        "seconds",
        "raw_quote_events",
        "demands",
        "commands",
        "skips",
        "skip_reasons",
        "results",
        "results_by_status",
        "fill_rate",
        "prices",
        "pnl_usd",
        "risk_trips",
        "commands_after_daily_loss_trip",
        "dead_letters",
        "lost_demands",
        "commands_without_result",
        "conflicting_results",
    ):
        value = summary[key]
        table.add_row(key, usd(value) if key == "pnl_usd" else str(value))
    latency = summary["latency_ms"]
    table.add_row(
        "latency p50 / p99 / max ms",
        f"{_ms(latency['p50'])} / {_ms(latency['p99'])} / {_ms(latency['max'])}",
    )
    if "alerts" in summary:
        shown = [f"{a['alert']} {a['state']} {a['pod']}".strip() for a in summary["alerts"]]
        table.add_row("alerts (local Prometheus)", "; ".join(shown) or "none")
    verdict = "[green]OK: nothing lost" if summary["ok"] else "[red]NOT OK"
    table.caption = f"{verdict} — logs in {summary['run_dir']}, report {summary['report']}"
    console.print(table)
