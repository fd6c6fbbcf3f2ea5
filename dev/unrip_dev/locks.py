"""Regenerate every lock file from its source with hashes (`invoke lock`).

Every install in the project (``./run``, the image, CI's deploy venv, checkov's venv) reads one
of these files with ``pip install --require-hashes``: a tampered or substituted wheel on the
index cannot be installed. The locks are the full closure with every distribution's hash
(all platforms), so the image (Linux, Python 3.11) and any workstation install the same pins.

uv keeps the versions already in an output file unless told to upgrade, so regenerating after a
pyproject edit moves only what the edit forces.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

PYTHON_VERSION: Final = "3.11"


@dataclass(frozen=True, slots=True, kw_only=True)
class Lock:
    """One lock file and what it is compiled from (paths relative to the repo root)."""

    output: str
    sources: tuple[str, ...]
    extra_args: tuple[str, ...] = ()


# Order matters: ci/requirements.txt is constrained by the runtime lock it is derived from.
LOCKS: Final = (
    Lock(output="requirements/runtime.lock", sources=("pyproject.toml",)),
    Lock(
        output="requirements/dev.lock", sources=("pyproject.toml",), extra_args=("--extra", "dev")
    ),
    Lock(output="requirements/checkov.lock", sources=("requirements/checkov.in",)),
    Lock(
        output="ci/requirements.txt",
        sources=("ci/requirements.in",),
        extra_args=("--constraint", "requirements/runtime.lock"),
    ),
)


def uv_executable() -> Path:
    """uv as pinned in the dev dependencies, beside this interpreter."""
    return Path(sys.executable).with_name("uv")


def compile_command(lock: Lock, *, upgrade: bool, uv: Path) -> list[str]:
    """The uv command that writes ``lock.output``."""
    command = [
        str(uv),
        "pip",
        "compile",
        *lock.sources,
        *lock.extra_args,
        "--generate-hashes",
        "--python-version",
        PYTHON_VERSION,
        "--custom-compile-command",
        "invoke lock",
        "--quiet",
        "--output-file",
        lock.output,
    ]
    if upgrade:
        command.append("--upgrade")
    return command


def regenerate(
    root: Path,
    *,
    upgrade: bool = False,
    report: Callable[[str], None] = print,
    run: Callable[[Sequence[str], Path], int] | None = None,
) -> int:
    """Compile every lock in order; the exit code of the first failure, else 0."""
    uv = uv_executable()
    if run is None and not uv.is_file():
        report(f"lock: {uv} is missing; run ./run once to install the dev dependencies")
        return 2
    runner = run or (lambda command, cwd: subprocess.run(command, cwd=cwd, check=False).returncode)
    for index, lock in enumerate(LOCKS, start=1):
        report(f"lock [{index}/{len(LOCKS)}] {lock.output} from {', '.join(lock.sources)}")
        code = runner(compile_command(lock, upgrade=upgrade, uv=uv), root)
        if code:
            report(f"lock: compiling {lock.output} failed (exit {code}); the file is unchanged")
            return code
    return 0
