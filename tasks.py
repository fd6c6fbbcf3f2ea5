"""invoke tasks: the operator's and the developer's entry points (`./run --list`)."""

from __future__ import annotations

import sys

from invoke import Context, task

PY = sys.executable


@task
def lint(c: Context) -> None:
    """ruff (lint + format check) and mypy (strict) over the whole repository."""
    c.run(f"{PY} -m ruff check .", echo=True, pty=False)
    c.run(f"{PY} -m ruff format --check .", echo=True, pty=False)
    c.run(f"{PY} -m mypy apps platform bootstrap tests tasks.py", echo=True, pty=False)


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
