"""invoke tasks: the operator's and the developer's entry points (`./run --list`)."""

from __future__ import annotations

import sys

from invoke.context import Context
from invoke.tasks import task

PY = sys.executable


@task
def lint(c: Context) -> None:
    """ruff (lint + format check) and mypy (strict) over the whole repository."""
    c.run(f"{PY} -m ruff check .", echo=True, pty=False)
    c.run(f"{PY} -m ruff format --check .", echo=True, pty=False)
    c.run(f"{PY} -m mypy apps platform bootstrap tests ci tasks.py", echo=True, pty=False)


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
    from pathlib import Path

    from unrip.local.dev import DevOptions, choose_source, run_dev

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


# --- delivery (issue 6, push-to-deploy) ----------------------------------------------------------
@task
def check(c: Context) -> None:
    """Offline delivery checks: render every overlay, strict schemas, checkov, linters."""
    from unrip_platform.delivery.checks import run_all

    if not run_all(print):
        raise SystemExit(1)


# --- end delivery --------------------------------------------------------------------------------
