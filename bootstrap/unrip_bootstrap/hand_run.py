"""`invoke pulumi`: the Pulumi CLI by hand, on the very stacks `invoke bootstrap` manages.

A bare `pulumi up` in platform/<project>/ uses whatever backend the CLI was last logged in to
and prompts for a passphrase: it lands on a different stack from the bootstrap's, or fails to
decrypt its config. This runs the CLI with what the bootstrap's workspace gets: the backend and
passphrase from `.secrets/pulumi-state.yaml` (default backend `file://<repo>/.state/pulumi`),
the project directory, and the repository's `.venv` first on PATH (the projects' Pulumi.yaml
name it as their virtualenv). The environment is given to the child only, never printed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Final

from unrip_bootstrap.clients.pulumi_stacks import PULUMI_INSTALL_HINT
from unrip_bootstrap.options import BootstrapOptions
from unrip_bootstrap.redact import Redactor
from unrip_bootstrap.secret_files import load_one_group
from unrip_bootstrap.secret_groups import PulumiStateSecrets

PROJECTS: Final = ("hetzner", "cluster")
# Commands that act on one stack: `--stack` is added unless given (so they hit the bootstrap's).
_STACK_COMMANDS: Final = frozenset(
    {"up", "preview", "refresh", "destroy", "config", "import", "state", "cancel", "watch"}
)
_STACK_SUBCOMMANDS: Final = frozenset({"output", "export", "import", "history", "tag", "rm"})

Run = Callable[[Sequence[str], Path, Mapping[str, str]], int]


class HandRunError(RuntimeError):
    """The CLI cannot be run as asked; the message says what to do."""


def with_stack(args: Sequence[str], stack: str) -> list[str]:
    """``args`` with ``--stack STACK`` added where the command acts on a stack."""
    words = list(args)
    if not words or "--stack" in words or "-s" in words:
        return words
    command = words[0]
    if command in _STACK_COMMANDS or (
        command == "stack" and len(words) > 1 and words[1] in _STACK_SUBCOMMANDS
    ):
        return [*words, "--stack", stack]
    if words[:2] == ["stack", "init"] and len(words) == 2:
        return [*words, stack]
    return words


def pulumi_environment(options: BootstrapOptions) -> dict[str, str]:
    """The variables the bootstrap's workspace gets, from `.secrets/pulumi-state.yaml` only."""
    secrets = load_one_group(options.secrets_dir, "pulumi", Redactor())
    assert isinstance(secrets, PulumiStateSecrets)
    env = secrets.environment(options.default_backend)
    backend = env["PULUMI_BACKEND_URL"]
    if backend.startswith("file://"):
        Path(backend.removeprefix("file://")).mkdir(parents=True, exist_ok=True, mode=0o700)
    return env


def run_pulumi(
    options: BootstrapOptions,
    project: str,
    args: Sequence[str],
    *,
    run: Run | None = None,
) -> int:
    """Run ``pulumi ARGS`` in platform/<project>/ against the bootstrap's backend and stack."""
    if project not in PROJECTS:
        raise HandRunError(f"--project: expected one of {', '.join(PROJECTS)}, not {project!r}")
    venv_bin = options.repo_root / ".venv" / "bin"
    if not (venv_bin / "python").exists():
        raise HandRunError(f"{venv_bin.parent} is missing: run ./run once to create it")
    path = f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}"
    pulumi = shutil.which("pulumi", path=path)
    if pulumi is None:
        raise HandRunError(PULUMI_INSTALL_HINT)
    env = {
        **os.environ,
        **pulumi_environment(options),
        "PATH": path,
        "PULUMI_SKIP_UPDATE_CHECK": "true",
    }
    command = [pulumi, *with_stack(args, options.stack)]
    return (run or _subprocess)(command, options.project_dir(project), env)


def _subprocess(argv: Sequence[str], cwd: Path, env: Mapping[str, str]) -> int:
    return subprocess.run(argv, cwd=cwd, env=env, check=False).returncode
