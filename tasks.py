"""invoke tasks: the operator's and the developer's entry points (`./run --list`)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

from invoke.context import Context
from invoke.tasks import task

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


@task(help={"k": "only tests matching this expression", "fast": "skip integration/chaos tests"})
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


@task(
    help={
        "for_": "stop after this many seconds and print the summary (default: until Ctrl-C)",
        "json": "print the summary as one JSON object on the last line of stdout",
        "bootstrap_servers": "use this Kafka/Redpanda instead of the embedded broker",
        "source": "file (recorded feed) or relay (live NEAR Intents; needs UNRIP_NEAR_INTENTS_JWT)",
        "feed": "JSONL feed file (default: the bundled sample feed)",
        "pace": "recorded (replay the recorded timing) or fast (as fast as possible)",
        "speed": "with pace=recorded: replay this many times faster",
        "loop": "replay the feed file forever (quote ids get a #pass suffix)",
        "executors": "executor replicas in the consumer group",
    }
)
def dev(
    c: Context,
    for_: str | None = None,
    json: bool = False,
    bootstrap_servers: str | None = None,
    source: str = "auto",
    feed: str | None = None,
    pace: str = "recorded",
    speed: str = "1",
    loop: bool = False,
    executors: int = 1,
) -> None:
    """Run the whole pipeline locally: embedded broker, topics, every service as a process."""
    from unrip_dev.dev import DevOptions, choose_source, run_dev

    if pace not in ("recorded", "fast"):
        raise SystemExit(f"--pace must be recorded or fast, not {pace!r}")
    chosen = choose_source(source)
    code = run_dev(
        DevOptions(
            duration_s=float(for_) if for_ is not None else None,
            as_json=json,
            bootstrap_servers=bootstrap_servers,
            source=chosen,
            feed=Path(feed) if feed else None,
            pace="fast" if pace == "fast" else "recorded",
            speed=float(speed),
            loop=loop,
            executors=int(executors),
        )
    )
    if code:
        raise SystemExit(code)


@task(
    help={
        "commands": "distinct commands to send (some are re-sent as duplicates)",
        "kills": "SIGKILLs at random moments while commands flow",
        "executors": "executor processes in the consumer group",
        "pauses": "SIGSTOPs past the session timeout (zombie executors), then SIGCONT",
        "duplicates": "share of commands sent twice (0..1)",
        "rate": "commands sent per second",
        "seed": "seed of the kill schedule (printed, to replay a run)",
        "json": "print the report as one JSON object on the last line of stdout",
        "bootstrap_servers": "use this Kafka/Redpanda instead of the embedded broker",
        "venue": "paper (default) or near_intents (relay and chain stand-in process)",
    }
)
def chaos(
    c: Context,
    commands: int = 5000,
    kills: int = 8,
    executors: int = 3,
    pauses: int = 1,
    duplicates: str = "0.05",
    rate: str = "300",
    seed: int = -1,
    json: bool = False,
    bootstrap_servers: str | None = None,
    venue: str = "paper",
) -> None:
    """Kill executors while they work; prove no trade was executed twice or lost."""
    import json as json_module

    from unrip_dev.chaos import ChaosOptions, run_chaos

    report = run_chaos(
        ChaosOptions(
            commands=commands,
            kills=kills,
            executors=executors,
            pauses=pauses,
            duplicate_ratio=float(duplicates),
            rate_per_s=float(rate),
            seed=None if seed < 0 else seed,
            bootstrap_servers=bootstrap_servers,
            venue=venue,
        )
    )
    summary = report.as_dict()
    events = summary.pop("events")
    for event in events:
        print(event, file=sys.stderr)
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


@task(
    help={
        "plan": "show what would change (Pulumi previews included) without changing anything",
        "from_": "resume at this step (earlier steps are not checked): preflight, hetzner, node, "
        "kubeconfig, cluster, app-secrets, forgejo, push, deliver, verify",
        "stack": "Pulumi stack name (default prod)",
    }
)
def bootstrap(
    c: Context, plan: bool = False, from_: str | None = None, stack: str = "prod"
) -> None:
    """From filled-in .secrets/ to a self-deploying cluster; rerun it after any failure."""
    from unrip_bootstrap import commands

    options, clients, console = _operator_setup(stack)
    code = commands.bootstrap(options, clients, console, plan=plan, from_step=from_)
    if code:
        raise SystemExit(code)


@task(help={"stack": "Pulumi stack name (default prod)"})
def status(c: Context, stack: str = "prod") -> None:
    """The live state of every layer: stacks, node, API, Forgejo, pipeline, apps."""
    from unrip_bootstrap import commands

    options, clients, console = _operator_setup(stack)
    code = commands.status(options, clients, console)
    if code:
        raise SystemExit(code)


@task(
    help={
        "delete_volume": "also delete the data volume, stable IP and cluster token (all data)",
        "yes": "do not ask; for scripts (still requires --stack)",
        "stack": "Pulumi stack name (default prod)",
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


@task(
    help={
        "scenario": "server-lost, volume-lost, forgejo-lost or cluster-token-lost "
        "(docs/disaster-recovery.md)",
        "yes": "do not ask; for scripts",
        "stack": "Pulumi stack name (default prod)",
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


@task(
    help={
        "json": "print the results as one JSON object on the last line of stdout",
        "quick": "a short run that only checks everything works (the test command uses it)",
        "bootstrap_servers": "use this Kafka/Redpanda instead of the embedded broker",
    }
)
def bench(
    c: Context, json: bool = False, quick: bool = False, bootstrap_servers: str | None = None
) -> None:
    """Measure the pipeline against the bare broker in the same run (docs/benchmarks.md)."""
    import json as json_module

    from rich.console import Console
    from unrip_dev.bench.report import print_tables
    from unrip_dev.bench.runner import BenchOptions, run_bench

    progress = Console(stderr=True)
    document = run_bench(
        BenchOptions(
            quick=quick,
            bootstrap_servers=bootstrap_servers,
            progress=lambda line: progress.print(f"[dim]{line}"),
        )
    )
    print_tables(document, progress if json else Console())
    if json:
        print(json_module.dumps(document, sort_keys=True))
    if not document["ok"]:
        raise SystemExit(1)


# --- end bench ---------------------------------------------------------------------------------
