"""Pulumi stacks through the Automation API, behind a small interface the steps use.

The Automation API drives the `pulumi` CLI; without it, it raises FileNotFoundError deep in a
constructor. `AutomationStack` turns that into a message that says what to install.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Protocol

from pulumi import automation as auto
from pulumi.automation.errors import InvalidVersionError, StackNotFoundError

PULUMI_INSTALL_HINT: Final = (
    "the Pulumi CLI is needed: install it (https://www.pulumi.com/docs/iac/download-install/, "
    "e.g. `curl -fsSL https://get.pulumi.com | sh`) and make sure `pulumi` is on PATH"
)
# Operations a preview/up reports that change nothing.
UNCHANGED_OPS: Final = frozenset({"same", "read", "refresh"})

ChangeSummary = dict[str, int]
OnOutput = Callable[[str], None]


class PulumiCliMissingError(RuntimeError):
    """No usable `pulumi` CLI: the message says how to install it."""


@dataclass(frozen=True)
class ConfigEntry:
    """One stack config value as Pulumi stores it (`secret` ones are encrypted in the file)."""

    value: str
    secret: bool = False


@dataclass(frozen=True)
class OutputEntry:
    value: Any
    secret: bool = False


def changes_in(summary: Mapping[str, int]) -> ChangeSummary:
    """Only the operations that change something, e.g. {"create": 3}."""
    return {op: count for op, count in summary.items() if op not in UNCHANGED_OPS and count}


def describe_changes(summary: Mapping[str, int]) -> str:
    changed = changes_in(summary)
    if not changed:
        return "no changes"
    return ", ".join(f"{count} to {op}" for op, count in sorted(changed.items()))


class StackDriver(Protocol):
    """One stack of one Pulumi project, as the steps need it."""

    project: str
    stack: str

    def exists(self) -> bool: ...

    def ensure(self) -> None: ...

    def get_config(self) -> dict[str, ConfigEntry]: ...

    def set_config(self, values: Mapping[str, ConfigEntry]) -> None: ...

    def preview(self, *, refresh: bool) -> ChangeSummary: ...

    def up(self, *, refresh: bool, on_output: OnOutput) -> ChangeSummary: ...

    def outputs(self) -> dict[str, OutputEntry]: ...

    def destroy(self, *, exclude_protected: bool, on_output: OnOutput) -> ChangeSummary: ...

    def remove(self) -> None: ...

    def export_state(self) -> dict[str, Any]: ...

    def import_state(self, deployment: Mapping[str, Any]) -> None: ...


class AutomationStack:
    """A local-program stack (`platform/<project>/`) driven by `pulumi.automation`."""

    def __init__(
        self,
        project: str,
        project_dir: Path,
        stack: str,
        env: Mapping[str, str],
        *,
        secrets_provider: str | None,
        pulumi_root: str | None = None,
    ) -> None:
        self.project = project
        self.stack = stack
        self._project_dir = project_dir
        self._env = dict(env)
        self._secrets_provider = secrets_provider
        self._pulumi_root = pulumi_root
        self._workspace: auto.LocalWorkspace | None = None

    def __repr__(self) -> str:  # the workspace's own repr would print the environment
        return f"AutomationStack({self.project}/{self.stack})"

    def workspace(self) -> auto.LocalWorkspace:
        if self._workspace is None:
            try:
                command = auto.PulumiCommand(root=self._pulumi_root)
            except FileNotFoundError:
                raise PulumiCliMissingError(PULUMI_INSTALL_HINT) from None
            except InvalidVersionError as exc:
                raise PulumiCliMissingError(f"{exc}; {PULUMI_INSTALL_HINT}") from None
            self._workspace = auto.LocalWorkspace(
                work_dir=str(self._project_dir),
                env_vars={**self._env, "PULUMI_SKIP_UPDATE_CHECK": "true"},
                secrets_provider=self._secrets_provider,
                pulumi_command=command,
            )
        return self._workspace

    def _selected(self) -> auto.Stack:
        return auto.Stack.select(self.stack, self.workspace())

    def exists(self) -> bool:
        # Not `stack ls`: with a file backend it silently leaves out stacks it cannot decrypt
        # (pulumi/pulumi#4798), which would make an existing stack look absent.
        try:
            self._selected()
        except StackNotFoundError:
            return False
        return True

    def ensure(self) -> None:
        auto.Stack.create_or_select(self.stack, self.workspace())

    def get_config(self) -> dict[str, ConfigEntry]:
        config = self.workspace().get_all_config(self.stack)
        return {key: ConfigEntry(str(v.value), bool(v.secret)) for key, v in config.items()}

    def set_config(self, values: Mapping[str, ConfigEntry]) -> None:
        """Plain values in one `config set-all`; each secret through the CLI's stdin.

        The Automation API passes set_all_config values as command-line arguments, which any
        user on the machine can read (`ps`); a secret must never be one.
        """
        plain = {
            key: auto.ConfigValue(value=entry.value)
            for key, entry in values.items()
            if not entry.secret
        }
        if plain:
            self.workspace().set_all_config(self.stack, plain)
        for key, entry in values.items():
            if entry.secret:
                self._set_secret(key, entry.value)

    def _set_secret(self, key: str, value: str) -> None:
        workspace = self.workspace()
        result = subprocess.run(
            [
                workspace.pulumi_command.command,
                "config",
                "set",
                "--secret",
                "--stack",
                self.stack,
                "--non-interactive",
                key,
            ],
            input=value,
            capture_output=True,
            text=True,
            cwd=self._project_dir,
            env={**os.environ, **self._env, "PULUMI_SKIP_UPDATE_CHECK": "true"},
            check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"pulumi config set --secret {key} failed ({result.returncode}): "
                f"{result.stderr.strip()[-500:]}"
            )

    def preview(self, *, refresh: bool) -> ChangeSummary:
        result = self._selected().preview(refresh=refresh, color="never")
        return _summary(result.change_summary)

    def up(self, *, refresh: bool, on_output: OnOutput) -> ChangeSummary:
        result = self._selected().up(refresh=refresh, on_output=on_output, color="never")
        return _summary(result.summary.resource_changes or {})

    def outputs(self) -> dict[str, OutputEntry]:
        outputs = self._selected().outputs()
        return {key: OutputEntry(v.value, bool(v.secret)) for key, v in outputs.items()}

    def destroy(self, *, exclude_protected: bool, on_output: OnOutput) -> ChangeSummary:
        result = self._selected().destroy(
            exclude_protected=exclude_protected, on_output=on_output, color="never"
        )
        return _summary(result.summary.resource_changes or {})

    def remove(self) -> None:
        self.workspace().remove_stack(self.stack, force=True)

    def export_state(self) -> dict[str, Any]:
        deployment = self.workspace().export_stack(self.stack)
        return dict(deployment.deployment or {})

    def import_state(self, deployment: Mapping[str, Any]) -> None:
        """``pulumi stack import`` from a file only this user can read, removed even when the
        import fails. (The SDK's ``import_stack`` leaves its temporary file, the whole state
        with its secrets in clear after an ``export --show-secrets``, in /tmp on failure.)"""
        workspace = self.workspace()
        env = {"PULUMI_HOME": workspace.pulumi_home} if workspace.pulumi_home else {}
        env |= workspace.env_vars
        with tempfile.TemporaryDirectory(prefix="unrip-pulumi-import-") as private:
            path = Path(private, "state.json")
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                json.dump({"version": 3, "deployment": dict(deployment)}, handle)
            workspace.pulumi_command.run(
                ["stack", "import", "--file", str(path), "--stack", self.stack],
                workspace.work_dir,
                env,
            )


def _summary(ops: Mapping[Any, int]) -> ChangeSummary:
    return {str(getattr(op, "value", op)): int(count) for op, count in ops.items()}
