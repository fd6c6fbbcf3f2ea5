"""invoke tasks: the operator's and the developer's entry points (`./run --list`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from invoke.context import Context
from invoke.tasks import task
from unrip_dev.options import Kind, OptionError, choice, integer, number, typed_task

PY = sys.executable


@task
def lint(c: Context) -> None:
    """ruff (lint + format check), mypy (strict) and the import contracts (import-linter)."""
    c.run(f"{PY} -m ruff check .", echo=True, pty=False)
    c.run(f"{PY} -m ruff format --check .", echo=True, pty=False)
    roots = [
        d
        for d in ("apps", "platform", "bootstrap", "dev", "ci", "tests")
        if any(Path(d).rglob("*.py"))
    ]
    c.run(f"{PY} -m mypy {' '.join(roots)} tasks.py", echo=True, pty=False)
    # The architecture's import contracts ([tool.importlinter] in pyproject.toml).
    c.run(f"{Path(PY).with_name('lint-imports')} --no-cache", echo=True, pty=False)


@typed_task(
    help={
        "k": "only tests matching this expression (default: every test)",
        "fast": "skip integration/chaos tests",
    }
)
def test(c: Context, k: str = "", fast: bool = False) -> None:
    """The test command: lint, then every test (unit, integration on a real broker, platform)."""
    lint(c)
    args = ["-q"]
    if k:
        args += ["-k", repr(k)]
    if fast:
        args += ["-m", "'not integration and not chaos'"]
    # pytest exits 5 when it collects nothing; invoke treats any non-zero exit as failure,
    # so an empty selection cannot pass silently.
    c.run(f"{PY} -m pytest {' '.join(args)}", echo=True, pty=False)


@typed_task(
    kinds={
        "for_": number(minimum=0),
        "source": choice(("auto", "file", "live", "relay")),
        "pace": choice(("recorded", "fast")),
        "speed": number(minimum=0.001),
        "executors": integer(minimum=1),
        # unrip_dev.dev.PRICE_CHOICES (a test keeps them equal; importing it here is slow),
        # under a short placeholder: the five words would not fit invoke's help columns.
        "prices": lambda option: Kind(
            option,
            "PRICES",
            choice(("calm", "trending", "adverse", "live", "static"))(option).convert,
        ),
    },
    help={
        "for_": "stop after this many seconds and print the summary (default: until Ctrl-C)",
        "json": "print the summary as one JSON object on the last line of stdout",
        "bootstrap_servers": "use this Kafka/Redpanda (default: the embedded broker)",
        "source": "file (recorded feed), live or relay (the live NEAR Intents relay; needs "
        "UNRIP_NEAR_INTENTS_JWT) "
        "or auto (relay when configured and reachable, else file)",
        "feed": "JSONL feed file (default: the bundled sample feed)",
        "pace": "recorded (replay the recorded timing) or fast (as fast as possible)",
        "speed": "with pace=recorded: replay this many times faster",
        "loop": "replay the feed file forever (quote ids get a #pass suffix)",
        "executors": "executor replicas in the consumer group",
        "report": "write the run's HTML report here (default: report.html in the run's logs)",
        "prometheus": "also run a local Prometheus scraping the services with the alert rules",
        "archive": "also run the archiver, archiving every event into this directory as "
        "Parquet (default: no archiver)",
        "prices": "reference prices: calm, trending or adverse (recorded paths), live (the "
        "1Click token list) or static (the strategy's own prices)",
    },
)
def dev(
    c: Context,
    for_: float | None = None,
    json: bool = False,
    bootstrap_servers: str | None = None,
    source: str = "auto",
    feed: str | None = None,
    pace: str = "recorded",
    speed: float = 1.0,
    loop: bool = False,
    executors: int = 1,
    report: str | None = None,
    prometheus: bool = False,
    archive: str | None = None,
    prices: str = "calm",
) -> None:
    """Run the whole pipeline locally: embedded broker, topics, every service as a process."""
    from unrip_dev.dev import DevOptions, choose_source, run_dev

    if feed and not Path(feed).is_file():
        raise OptionError("--feed", f"no such file: {feed}")
    chosen = choose_source(source)
    code = run_dev(
        DevOptions(
            duration_s=for_,
            as_json=json,
            bootstrap_servers=bootstrap_servers,
            source=chosen,
            feed=Path(feed) if feed else None,
            pace="fast" if pace == "fast" else "recorded",
            speed=speed,
            loop=loop,
            executors=executors,
            report=Path(report) if report else None,
            prometheus=prometheus,
            archive=Path(archive).absolute() if archive else None,
            prices=prices,
        )
    )
    if code:
        raise SystemExit(code)


@typed_task(
    kinds={
        "commands": integer(minimum=1),
        "kills": integer(minimum=0),
        "executors": integer(minimum=1),
        "pauses": integer(minimum=0),
        "duplicates": number(minimum=0, maximum=1),
        "rate": number(minimum=0.001),
        "seed": integer(minimum=-1),
        "venue": choice(("paper", "near_intents")),
    },
    help={
        "commands": "distinct commands to send (some are re-sent as duplicates)",
        "kills": "SIGKILLs at random moments while commands flow",
        "executors": "executor processes in the consumer group",
        "pauses": "SIGSTOPs past the session timeout (zombie executors), then SIGCONT",
        "duplicates": "share of commands sent twice (0..1)",
        "rate": "commands sent per second",
        "seed": "seed of the kill schedule (printed, to replay a run; default: -1, a random one)",
        "json": "print the report as one JSON object on the last line of stdout",
        "bootstrap_servers": "use this Kafka/Redpanda (default: the embedded broker)",
        "venue": "paper or near_intents (executors answer quotes on a relay and chain stand-in "
        "process)",
    },
)
def chaos(
    c: Context,
    commands: int = 5000,
    kills: int = 8,
    executors: int = 3,
    pauses: int = 1,
    duplicates: float = 0.05,
    rate: float = 300.0,
    seed: int = -1,
    json: bool = False,
    bootstrap_servers: str | None = None,
    venue: str = "paper",
) -> None:
    """Kill executors while they work; prove no trade was executed twice or lost."""
    import json as json_module

    from rich.console import Console
    from unrip_dev.chaos import ChaosOptions, run_chaos

    progress = Console(stderr=True, highlight=False)
    report = run_chaos(
        ChaosOptions(
            progress=lambda line: progress.print(line, markup=False, soft_wrap=True),
            commands=commands,
            kills=kills,
            executors=executors,
            pauses=pauses,
            duplicate_ratio=duplicates,
            rate_per_s=rate,
            seed=None if seed < 0 else seed,
            bootstrap_servers=bootstrap_servers,
            venue=venue,
        )
    )
    summary = report.as_dict()
    summary.pop("events")  # already printed as they happened
    for key, value in summary.items():
        print(f"{key:>24}: {value}", file=sys.stderr)
    if json:
        print(json_module.dumps(summary, sort_keys=True))
    if not report.ok:
        raise SystemExit(1)


# --- delivery (issue 6, push-to-deploy) ----------------------------------------------------------
@task
def check(c: Context) -> None:
    """Offline delivery checks: render every overlay, strict schemas, checkov, linters."""
    from unrip_platform.delivery.checks import run_all

    if not run_all(print):
        raise SystemExit(1)


# --- end delivery --------------------------------------------------------------------------------


# --- operator: bootstrap, status, destroy, disaster recovery (issue 7, bootstrap helper) -------
# Thin wrappers: the logic lives in bootstrap/unrip_bootstrap (docs/bootstrap.md).

if TYPE_CHECKING:
    from rich.console import Console
    from unrip_bootstrap.context import Clients
    from unrip_bootstrap.options import BootstrapOptions


def _operator_setup(stack: str) -> tuple[BootstrapOptions, Clients, Console]:
    from rich.console import Console
    from unrip_bootstrap.options import BootstrapOptions
    from unrip_bootstrap.wiring import real_clients

    options = BootstrapOptions(repo_root=Path(__file__).resolve().parent, stack=stack)
    return options, real_clients(options), Console()


@typed_task(
    help={
        "plan": "show what would change (Pulumi previews included) without changing anything",
        "from_": "resume at this step (earlier steps are not checked): preflight, hetzner, node, "
        "kubeconfig, images, cluster, app-secrets, forgejo, push, deliver, verify (default: the "
        "first)",
        "stack": "Pulumi stack name (default: prod)",
        "repin_images": "resolve every tag-only platform image's digest again (prints old -> new)",
    }
)
def bootstrap(
    c: Context,
    plan: bool = False,
    from_: str | None = None,
    stack: str = "prod",
    repin_images: bool = False,
) -> None:
    """From filled-in .secrets/ to a self-deploying cluster; rerun it after any failure."""
    from unrip_bootstrap import commands

    options, clients, console = _operator_setup(stack)
    code = commands.bootstrap(
        options, clients, console, plan=plan, from_step=from_, repin_images=repin_images
    )
    if code:
        raise SystemExit(code)


@typed_task(help={"stack": "Pulumi stack name (default: prod)"})
def status(c: Context, stack: str = "prod") -> None:
    """The live state of every layer: stacks, node, API, Forgejo, pipeline, apps."""
    from unrip_bootstrap import commands

    options, clients, console = _operator_setup(stack)
    code = commands.status(options, clients, console)
    if code:
        raise SystemExit(code)


@typed_task(
    help={
        "delete_volume": "also delete the data volume, stable IP and cluster token (all data)",
        "yes": "do not ask; for scripts (still requires --stack)",
        "stack": "Pulumi stack name (default: prod)",
    }
)
def destroy(
    c: Context, delete_volume: bool = False, yes: bool = False, stack: str = "prod"
) -> None:
    """Tear down the servers; the data volume is kept unless --delete-volume."""
    from unrip_bootstrap import commands

    options, clients, console = _operator_setup(stack)
    confirm = (lambda _question: stack) if yes else input
    code = commands.destroy(options, clients, console, delete_volume=delete_volume, confirm=confirm)
    if code:
        raise SystemExit(code)


@typed_task(
    help={
        "scenario": "server-lost, volume-lost, forgejo-lost or cluster-token-lost "
        "(docs/disaster-recovery.md)",
        "yes": "do not ask; for scripts",
        "stack": "Pulumi stack name (default: prod)",
    }
)
def dr(c: Context, scenario: str, yes: bool = False, stack: str = "prod") -> None:
    """Disaster recovery: rebuild what was lost and reattach the surviving data volume."""
    from unrip_bootstrap import commands

    options, clients, console = _operator_setup(stack)
    confirm = (lambda _question: stack) if yes else input
    code = commands.dr(options, clients, console, scenario=scenario, confirm=confirm)
    if code:
        raise SystemExit(code)


# --- end of the operator section (issue 7) -----------------------------------------------------


# --- bench (issue 8: benchmarks) -------------------------------------------------------------


@typed_task(
    help={
        "json": "print the results as one JSON object on the last line of stdout",
        "quick": "a short run that only checks everything works (the test command uses it)",
        "bootstrap_servers": "use this Kafka/Redpanda (default: the embedded broker)",
        "stage": "run only this measurement: quote-latency or executor (default: all of them)",
    },
    kinds={"stage": choice(("quote-latency", "executor"))},
)
def bench(
    c: Context,
    json: bool = False,
    quick: bool = False,
    bootstrap_servers: str | None = None,
    stage: str | None = None,
) -> None:
    """Measure the pipeline against the bare broker in the same run (docs/benchmarks.md)."""
    import json as json_module

    from rich.console import Console
    from rich.markup import escape
    from unrip_dev.bench.report import print_tables
    from unrip_dev.bench.runner import BenchOptions, run_bench

    progress = Console(stderr=True)
    document = run_bench(
        BenchOptions(
            quick=quick,
            bootstrap_servers=bootstrap_servers,
            stage=stage,
            progress=lambda line: progress.print(f"[dim]{escape(line)}"),
        )
    )
    if stage is None:
        print_tables(document, progress if json else Console())
    else:
        progress.print(f"results: {document['results_file']}")
    if json:
        print(json_module.dumps(document, sort_keys=True))
    if not document["ok"]:
        raise SystemExit(1)


# --- end bench ---------------------------------------------------------------------------------


# --- operator habits (issue 19): hand-run Pulumi, locks --------------------------------------


@typed_task(
    kinds={"project": choice(("hetzner", "cluster"))},
    help={
        "project": "the Pulumi project: hetzner or cluster (required)",
        "stack": "Pulumi stack name (default: prod)",
    },
)
def pulumi(c: Context, project: str, stack: str = "prod") -> None:
    """The Pulumi CLI on the bootstrap's stacks: `invoke pulumi --project hetzner -- up`."""
    import shlex

    from unrip_bootstrap.hand_run import HandRunError, run_pulumi
    from unrip_bootstrap.options import BootstrapOptions
    from unrip_bootstrap.secret_files import SecretsInvalidError

    options = BootstrapOptions(repo_root=Path(__file__).resolve().parent, stack=stack)
    try:
        code = run_pulumi(options, project, shlex.split(c.remainder))
    except HandRunError as error:
        raise SystemExit(f"pulumi: {error}") from None
    except SecretsInvalidError as error:
        raise SystemExit(f"pulumi: {error}") from None
    if code:
        raise SystemExit(code)


@typed_task(help={"upgrade": "move every pin to the newest release pyproject.toml allows"})
def lock(c: Context, upgrade: bool = False) -> None:
    """Regenerate every lock (requirements/*.lock, ci/requirements.txt) with hashes."""
    from unrip_dev.locks import regenerate

    code = regenerate(Path(__file__).resolve().parent, upgrade=upgrade)
    if code:
        raise SystemExit(code)


# --- end operator habits -----------------------------------------------------------------------


# --- archive, replay, backtest, restore (issue 18; docs/archive.md) ----------------------------


@typed_task(
    help={
        "archive": "the archive directory (what `invoke dev --archive DIR` or the archiver wrote)",
        "from_": "start of the window, ISO 8601, UTC when no zone (default: start of archive)",
        "to": "end of the window, exclusive (default: end of archive)",
        "strategy": "strategy YAML; give it twice to compare two side by side (default: the "
        "bundled default strategy)",
        "out": "where report.html and summary.json go",
        "json": "print the summary as one JSON object on the last line of stdout",
    },
    iterable=["strategy"],
)
def backtest(
    c: Context,
    archive: str,
    from_: str | None = None,
    to: str | None = None,
    strategy: list[str] | None = None,
    out: str = ".runs/backtest",
    json: bool = False,
) -> None:
    """Recorded demands through the reactor's decision and the paper venue, simulated clock."""
    from unrip_dev.backtest.main import main

    argv = ["--archive", archive, "--out", out]
    argv += ["--from", from_] if from_ else []
    argv += ["--to", to] if to else []
    for path in strategy or []:
        argv += ["--strategy", path]
    argv += ["--json"] if json else []
    code = main(argv)
    if code:
        raise SystemExit(code)


_WINDOW_HELP = {
    "from_": "start of the window, ISO 8601, UTC when no zone (default: the beginning)",
    "to": "end of the window, exclusive (default: the end)",
    "topics": "topic names or patterns (default: every archived topic)",
}


@typed_task(
    kinds={"pace": choice(("recorded", "fast")), "speed": number(minimum=0.001)},
    help={
        **_WINDOW_HELP,
        "archive": "read this archive directory (default: --source-bootstrap-servers)",
        "source_bootstrap_servers": "read the topics' retained range from this broker instead "
        "(default: --archive)",
        "bootstrap_servers": "the broker to publish to with --into (default: none)",
        "pace": "recorded (the recording's spacing) or fast (as fast as possible)",
        "speed": "with pace=recorded: this many times faster",
        "into": "publish into scratch topics named PREFIX<topic>, e.g. replay. (default: none)",
        "reactor": "run the records through the production reactor on a simulated clock",
        "strategy": "with --reactor: the strategy file (default: the bundled one)",
    },
)
def replay(
    c: Context,
    archive: str | None = None,
    source_bootstrap_servers: str | None = None,
    from_: str | None = None,
    to: str | None = None,
    topics: str | None = None,
    bootstrap_servers: str | None = None,
    pace: str = "fast",
    speed: float = 1.0,
    into: str | None = None,
    reactor: bool = False,
    strategy: str | None = None,
) -> None:
    """Replay archived or retained events into scratch topics or through the reactor."""
    from unrip_dev.replay_cli import replay_main

    argv = _replay_argv(archive, source_bootstrap_servers, from_, to, topics, bootstrap_servers)
    argv += ["--pace", pace, "--speed", str(speed)]
    argv += ["--into", into] if into is not None else []
    argv += ["--reactor"] if reactor else []
    argv += ["--strategy", strategy] if strategy else []
    code = replay_main(argv)
    if code:
        raise SystemExit(code)


@typed_task(
    help={
        **_WINDOW_HELP,
        "archive": "the archive directory to restore from",
        "bootstrap_servers": "the broker whose topics are restored",
        "append": "publish even into topics that already hold records",
    }
)
def restore(
    c: Context,
    archive: str,
    bootstrap_servers: str,
    from_: str | None = None,
    to: str | None = None,
    topics: str | None = None,
    append: bool = False,
) -> None:
    """Restore topics from the archive after a volume loss (docs/disaster-recovery.md)."""
    from unrip_dev.replay_cli import restore_main

    argv = _replay_argv(archive, None, from_, to, topics, bootstrap_servers)
    code = restore_main(argv + (["--append"] if append else []))
    if code:
        raise SystemExit(code)


def _replay_argv(
    archive: str | None,
    source: str | None,
    start: str | None,
    end: str | None,
    topics: str | None,
    bootstrap_servers: str | None,
) -> list[str]:
    pairs = {
        "--archive": archive,
        "--source-bootstrap-servers": source,
        "--from": start,
        "--to": end,
        "--topics": topics,
        "--bootstrap-servers": bootstrap_servers,
    }
    return [part for flag, value in pairs.items() if value for part in (flag, value)]


# --- end archive -------------------------------------------------------------------------------


@typed_task(
    kinds={
        "demands": integer(minimum=1),
        "rate": number(minimum=0.001),
        "max_minutes": number(minimum=0.01),
    },
    help={
        "demands": "distinct demands to feed (a day at ~20/s is 1.7 M)",
        "rate": "demands per second to replay them at (the pipeline sustains ~450-500/s)",
        "json": "print the report as one JSON object on the last line of stdout",
        "bootstrap_servers": "use this Kafka/Redpanda (default: the embedded broker)",
        "max_minutes": "stop feeding after this many minutes even short of --demands "
        "(default: no limit)",
    },
)
def soak(
    c: Context,
    demands: int = 1_700_000,
    rate: float = 400.0,
    json: bool = True,
    bootstrap_servers: str | None = None,
    max_minutes: float | None = None,
) -> None:
    """A compressed day with hostile input and a restart of each service: flat memory, no loss."""
    import json as json_module

    from unrip_dev.soak.run import SoakOptions, run_soak

    report = run_soak(
        SoakOptions(
            demands=demands,
            rate_per_s=rate,
            bootstrap_servers=bootstrap_servers,
            max_feed_s=max_minutes * 60 if max_minutes else None,
        )
    )
    report.pop("events")  # already printed to stderr as they happened
    if json:
        print(json_module.dumps(report, sort_keys=True))
    if not report["ok"]:
        raise SystemExit(1)
