"""The stack outputs: what `invoke bootstrap` (and an operator) needs from the infrastructure.

The names are a contract with the bootstrap, which reads them through the Automation API:
it should parse them with `HetznerStackOutputs.from_outputs` rather than spell them again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any, Final

import pulumi

from unrip_platform.hetzner.cloud_init import BOOT_FAILURE_MARKER
from unrip_platform.hetzner.cluster import K3sCluster
from unrip_platform.hetzner.config import config_key
from unrip_platform.names import (
    BOOT_MARKER,
    DATA_MOUNT,
    K3S_KUBECONFIG_PATH,
    KUBE_API_PORT,
    SSH_USER,
)

# k3s writes its kubeconfig pointing at the API on loopback; clients elsewhere use the stable IP.
K3S_KUBECONFIG_SERVER: Final = f"https://127.0.0.1:{KUBE_API_PORT}"

# Stack output name of a HetznerStackOutputs field: `server_ipv4` -> `serverIpv4`, spelt like
# the config keys (tests import it under this name).
output_name = config_key


@dataclass(frozen=True)
class HetznerStackOutputs:
    """Typed view of the stack outputs; field `server_ipv4` is output `serverIpv4`, etc."""

    server_name: str
    server_id: int
    server_ipv4: str
    server_private_ip: str
    node_names: list[str]
    ssh_user: str
    kube_api_endpoint: str
    kubeconfig_path: str
    kubeconfig_server_to_replace: str
    kubeconfig_fetch_command: str
    boot_marker_path: str
    boot_failure_marker_path: str
    volume_id: int
    volume_device: str
    data_mount: str
    k3s_version: str
    network_id: int
    firewall_id: int
    primary_ip_id: int

    @classmethod
    def from_outputs(cls, outputs: Mapping[str, Any]) -> HetznerStackOutputs:
        """Parse `stack.outputs()` (values or Automation API OutputValues); missing keys fail
        with the list of what is missing, e.g. when the stack was never brought up."""
        values = {key: getattr(value, "value", value) for key, value in outputs.items()}
        missing = [config_key(f.name) for f in fields(cls) if config_key(f.name) not in values]
        if missing:
            raise KeyError(f"the Hetzner stack has no outputs {', '.join(missing)}; run pulumi up")
        kwargs: dict[str, Any] = {}
        for field in fields(cls):
            value = values[config_key(field.name)]
            if field.type == "int":
                value = int(value)
            elif field.type == "list[str]":
                value = [str(item) for item in value]
            else:
                value = str(value)
            kwargs[field.name] = value
        return cls(**kwargs)


def stack_outputs(cluster: K3sCluster) -> dict[str, Any]:
    """Every output of the stack, by name; values may be Outputs."""
    server = cluster.server
    ipv4 = server.primary_ip.ip_address
    endpoint = ipv4.apply(lambda ip: f"https://{ip}:{KUBE_API_PORT}")
    outputs: dict[str, Any] = {
        "server_name": server.node_name,
        "server_id": server.server.id.apply(int),
        "server_ipv4": ipv4,
        "server_private_ip": server.private_ip,
        "node_names": [server.node_name] + [agent.node_name for agent in cluster.agents],
        "ssh_user": SSH_USER,
        "kube_api_endpoint": endpoint,
        "kubeconfig_path": K3S_KUBECONFIG_PATH,
        "kubeconfig_server_to_replace": K3S_KUBECONFIG_SERVER,
        "kubeconfig_fetch_command": ipv4.apply(
            lambda ip: kubeconfig_fetch_command(ip, cluster.settings.name_prefix)
        ),
        "boot_marker_path": BOOT_MARKER,
        "boot_failure_marker_path": BOOT_FAILURE_MARKER,
        "volume_id": server.volume.id.apply(int),
        "volume_device": server.volume.linux_device,
        "data_mount": DATA_MOUNT,
        "k3s_version": cluster.settings.k3s_version,
        "network_id": cluster.network.network.id.apply(int),
        "firewall_id": cluster.network.firewall.id.apply(int),
        "primary_ip_id": server.primary_ip.id.apply(int),
    }
    return {config_key(key): value for key, value in outputs.items()}


def kubeconfig_fetch_command(ipv4: str, name_prefix: str) -> str:
    """A shell one-liner that fetches the kubeconfig into a 0600 file, pointed at the stable IP."""
    return (
        f"(umask 077; ssh {SSH_USER}@{ipv4} cat {K3S_KUBECONFIG_PATH} "
        f"| sed 's|{K3S_KUBECONFIG_SERVER}|https://{ipv4}:{KUBE_API_PORT}|' "
        f"> {name_prefix}.kubeconfig)"
    )


def export_stack_outputs(cluster: K3sCluster) -> None:
    """Export every stack output of the cluster."""
    for name, value in stack_outputs(cluster).items():
        pulumi.export(name, value)
