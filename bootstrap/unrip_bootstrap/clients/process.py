"""Running a command-line tool: argv in, exit code and output back; secrets only via stdin/env.

kubectl, ssh, git and the deploy script all run through a `CommandRunner`, so tests can
record exactly what would be executed without executing it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class CommandResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class CommandRunner(Protocol):
    def run(
        self,
        argv: Sequence[str],
        *,
        stdin: str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        timeout_s: float | None = None,
    ) -> CommandResult: ...


class ToolMissingError(RuntimeError):
    """The command-line tool is not installed (not on PATH)."""


class SubprocessRunner:
    """Runs commands for real. `env` is added to the inherited environment, never logged."""

    def run(
        self,
        argv: Sequence[str],
        *,
        stdin: str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        timeout_s: float | None = None,
    ) -> CommandResult:
        full_env = {**os.environ, **(env or {})}
        try:
            completed = subprocess.run(
                list(argv),
                input=stdin,
                capture_output=True,
                text=True,
                env=full_env,
                cwd=cwd,
                timeout=timeout_s,
                check=False,
            )
        except FileNotFoundError as exc:
            raise ToolMissingError(f"{argv[0]} is not installed (not found on PATH)") from exc
        except subprocess.TimeoutExpired:
            return CommandResult(124, "", f"{argv[0]} timed out after {timeout_s} s")
        return CommandResult(completed.returncode, completed.stdout, completed.stderr)
