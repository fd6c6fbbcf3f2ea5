"""The Hetzner stack (`platform/hetzner`): network, firewall, stable IP, volume, server."""

from __future__ import annotations

import json

from unrip_bootstrap.clients.pulumi_stacks import ConfigEntry, StackDriver
from unrip_bootstrap.context import HETZNER, StepContext
from unrip_bootstrap.secret_files import Secrets
from unrip_bootstrap.steps.pulumi_step import PulumiStackStep


def _config_text(value: str | int | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def hetzner_config(secrets: Secrets, *, apply_server_changes: bool) -> dict[str, ConfigEntry]:
    """The stack config the bootstrap owns; `protectData` and `applyServerChanges` are
    always set explicitly, so no hand-set value rebuilds or unprotects anything by surprise."""
    config = {
        "hcloud:token": ConfigEntry(secrets.hetzner.hcloud_token.get_secret_value(), secret=True),
        "unrip-hetzner:sshPublicKeys": ConfigEntry(json.dumps(secrets.ssh.public_keys)),
        "unrip-hetzner:operatorCidrs": ConfigEntry(json.dumps(secrets.operator.cidrs)),
        "unrip-hetzner:protectData": ConfigEntry("true"),
        "unrip-hetzner:applyServerChanges": ConfigEntry(_config_text(apply_server_changes)),
    }
    for key, value in sorted(secrets.hetzner.settings.items()):
        config[f"unrip-hetzner:{key}"] = ConfigEntry(_config_text(value))
    return config


class HetznerStep(PulumiStackStep):
    name = "hetzner"
    title = "Hetzner stack up (network, firewall, IP, volume, server)"
    project = HETZNER

    def desired_config(self, ctx: StepContext) -> dict[str, ConfigEntry]:
        return hetzner_config(ctx.secrets, apply_server_changes=ctx.options.apply_server_changes)

    def after_up(self, ctx: StepContext, stack: StackDriver) -> None:
        outputs = ctx.hetzner()
        ctx.reporter.detail(f"server {outputs.server_name} at {outputs.server_ipv4}")
