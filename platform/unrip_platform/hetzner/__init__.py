"""Hetzner Cloud infrastructure for unrip: settings, cloud-init renderer, Pulumi components.

`platform/hetzner/__main__.py` wires the stack config to `K3sCluster` and exports the stack
outputs the bootstrap reads (`HetznerStackOutputs`).
"""

from __future__ import annotations

from unrip_platform.hetzner.cluster import K3sCluster
from unrip_platform.hetzner.config import (
    PROJECT,
    ConfigError,
    HetznerSettings,
    load_settings,
    settings_from_config,
)
from unrip_platform.hetzner.outputs import (
    HetznerStackOutputs,
    export_stack_outputs,
    stack_outputs,
)

__all__ = [
    "PROJECT",
    "ConfigError",
    "HetznerSettings",
    "HetznerStackOutputs",
    "K3sCluster",
    "export_stack_outputs",
    "load_settings",
    "settings_from_config",
    "stack_outputs",
]
