"""A Pulumi stack brought up to date: its config from the secrets, then `up` with a refresh.

The refresh first reads what really exists, so a server deleted behind Pulumi's back (a
disaster) is recreated instead of assumed. The bootstrap sets only the config keys it owns;
other keys in the stack file are left as the operator set them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from unrip_bootstrap.clients.pulumi_stacks import (
    ConfigEntry,
    StackDriver,
    changes_in,
    describe_changes,
)
from unrip_bootstrap.context import StepContext
from unrip_bootstrap.steps.base import Check


def config_changes(
    desired: Mapping[str, ConfigEntry], current: Mapping[str, ConfigEntry]
) -> dict[str, ConfigEntry]:
    """The desired entries that differ from the stack's (value or secrecy)."""
    return {
        key: entry
        for key, entry in desired.items()
        if key not in current
        or current[key].secret != entry.secret
        or _normalised(current[key].value) != _normalised(entry.value)
    }


def _normalised(value: str) -> Any:
    """Structured values come back from Pulumi re-serialised: compare them as data."""
    try:
        return json.loads(value)
    except ValueError:
        return value


def describe_config(changes: Mapping[str, ConfigEntry]) -> tuple[str, ...]:
    return tuple(
        f"config: set {key}" + (" (secret)" if entry.secret else "")
        for key, entry in sorted(changes.items())
    )


class PulumiStackStep:
    """Shared by the Hetzner and the cluster step; subclasses say which stack and config."""

    name: str
    title: str
    project: str

    def desired_config(self, ctx: StepContext) -> dict[str, ConfigEntry]:
        raise NotImplementedError

    def ready_to_run(self, ctx: StepContext) -> None:
        """Raise BlockedError if a prerequisite of the program is missing."""

    def check(self, ctx: StepContext, *, deep: bool) -> Check:
        self.ready_to_run(ctx)
        stack = ctx.stack(self.project)
        desired = self.desired_config(ctx)
        if not stack.exists():
            return Check.pending(
                f"stack {stack.project}/{stack.stack} does not exist yet",
                ("create the stack", *describe_config(desired), "create every resource"),
            )
        changed = config_changes(desired, stack.get_config())
        changes = list(describe_config(changed))
        if deep:
            summary = stack.preview(refresh=True)
            if changes_in(summary):
                note = " (with the current config)" if changed else ""
                changes.append(f"resources{note}: {describe_changes(summary)}")
        elif not stack.outputs():
            changes.append("never brought up (no outputs)")
        if changes:
            return Check.pending(f"{stack.project}/{stack.stack} is not up to date", tuple(changes))
        return Check.converged(f"{stack.project}/{stack.stack} is up to date")

    def apply(self, ctx: StepContext) -> str:
        self.ready_to_run(ctx)
        stack = ctx.stack(self.project)
        stack.ensure()
        changed = config_changes(self.desired_config(ctx), stack.get_config())
        stack.set_config(changed)
        summary = stack.up(refresh=True, on_output=ctx.reporter.stream)
        ctx.forget_outputs(self.project)
        self.after_up(ctx, stack)
        return f"pulumi up: {describe_changes(summary)}"

    def after_up(self, ctx: StepContext, stack: StackDriver) -> None:
        """Hook for what a step reads from its fresh outputs."""
