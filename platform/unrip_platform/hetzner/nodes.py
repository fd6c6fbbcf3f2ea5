"""The k3s nodes: the server (stable IPv4, data volume) and optional agents.

What makes a rebuild safe lives here:
- the server is deleted before its replacement is created (`delete_before_replace`), so the
  stable IPv4, the volume and the private address are free for the new one;
- unless the operator sets `applyServerChanges`, changes to user data, image and SSH keys are
  ignored for existing servers (they would otherwise force a replacement on the next run);
- the primary IPv4 and the volume carry Hetzner delete protection *and* Pulumi `protect`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
import pulumi_hcloud as hcloud

from unrip_platform.hetzner.cloud_init import (
    DATA_VOLUME_FILESYSTEM,
    AgentBoot,
    ServerBoot,
    render_agent_user_data,
    render_server_user_data,
)
from unrip_platform.hetzner.config import HetznerSettings
from unrip_platform.hetzner.network import ClusterNetwork

# Inputs Hetzner can only apply by recreating the server; ignored unless applyServerChanges.
REPLACING_INPUTS = ["user_data", "image", "ssh_keys"]


def node_name(settings: HetznerSettings, index: int) -> str:
    """Hetzner server name and Kubernetes node name of node `index` (0 is the server)."""
    return f"{settings.name_prefix}-node-{index}"


def _k3s_node_server(
    name: str,
    *,
    parent: pulumi.Resource,
    settings: HetznerSettings,
    node_name: str,
    private_ip: str,
    role: str,
    labels: Mapping[str, str],
    network: ClusterNetwork,
    ssh_key_ids: Sequence[pulumi.Input[str]],
    user_data: pulumi.Output[str],
    public_net: hcloud.ServerPublicNetArgs,
    depends_on: Sequence[pulumi.Resource],
) -> hcloud.Server:
    """A node's Hetzner server: behind the firewall from creation, on the private network at a
    fixed address, replaced only on request and then deleted before its successor exists."""
    return hcloud.Server(
        name,
        name=node_name,
        server_type=settings.server_type,
        image=settings.image,
        location=settings.location,
        ssh_keys=list(ssh_key_ids),
        user_data=user_data,
        firewall_ids=[network.firewall.id.apply(int)],
        networks=[
            hcloud.ServerNetworkArgs(subnet_id=network.subnet.id, ip=private_ip, alias_ips=[])
        ],
        public_nets=[public_net],
        shutdown_before_deletion=True,
        # serverType changes resize in place; the root disk holds nothing, so keeping its size
        # keeps a later downgrade possible.
        keep_disk=True,
        labels={**labels, "role": role},
        opts=pulumi.ResourceOptions(
            parent=parent,
            depends_on=list(depends_on),
            delete_before_replace=True,
            ignore_changes=None if settings.apply_server_changes else list(REPLACING_INPUTS),
        ),
    )


class K3sServerNode(pulumi.ComponentResource):
    """The k3s server: stable primary IPv4, delete-protected data volume, server, attachment."""

    primary_ip: hcloud.PrimaryIp
    volume: hcloud.Volume
    server: hcloud.Server
    volume_attachment: hcloud.VolumeAttachment
    user_data: pulumi.Output[str]
    node_name: str
    private_ip: str

    def __init__(
        self,
        name: str,
        *,
        settings: HetznerSettings,
        labels: Mapping[str, str],
        network: ClusterNetwork,
        ssh_key_ids: Sequence[pulumi.Input[str]],
        cluster_token: pulumi.Output[str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("unrip:hetzner:K3sServerNode", name, None, opts)
        self.node_name = node_name(settings, 0)
        self.private_ip = settings.node_private_ip(0)
        child = pulumi.ResourceOptions(parent=self)
        keep = pulumi.ResourceOptions(parent=self, protect=settings.protect_data)

        self.primary_ip = hcloud.PrimaryIp(
            f"{name}-ipv4",
            name=f"{self.node_name}-ipv4",
            type="ipv4",
            location=settings.location,
            assignee_type="server",
            auto_delete=False,
            delete_protection=settings.protect_data,
            labels=dict(labels),
            opts=keep,
        )
        self.volume = hcloud.Volume(
            f"{name}-data",
            name=f"{self.node_name}-data",
            size=settings.volume_size_gb,
            location=settings.location,
            format=DATA_VOLUME_FILESYSTEM,
            automount=False,
            delete_protection=settings.protect_data,
            labels=dict(labels),
            opts=keep,
        )
        self.user_data = pulumi.Output.secret(
            pulumi.Output.all(
                public_ipv4=self.primary_ip.ip_address,
                data_device=self.volume.linux_device,
                token=cluster_token,
            ).apply(
                lambda v: render_server_user_data(
                    ServerBoot(
                        node_name=self.node_name,
                        node_ip=self.private_ip,
                        public_ipv4=v["public_ipv4"],
                        data_device=v["data_device"],
                        k3s_version=settings.k3s_version,
                        cluster_token=v["token"],
                        install_script_sha256=settings.k3s_install_script_sha256,
                    )
                )
            )
        )
        self.server = _k3s_node_server(
            name,
            parent=self,
            settings=settings,
            node_name=self.node_name,
            private_ip=self.private_ip,
            role="server",
            labels=labels,
            network=network,
            ssh_key_ids=ssh_key_ids,
            user_data=self.user_data,
            public_net=hcloud.ServerPublicNetArgs(
                ipv4_enabled=True, ipv4=self.primary_ip.id.apply(int), ipv6_enabled=True
            ),
            depends_on=[network.subnet],
        )
        self.volume_attachment = hcloud.VolumeAttachment(
            f"{name}-data-attachment",
            server_id=self.server.id.apply(int),
            volume_id=self.volume.id.apply(int),
            automount=False,
            opts=child,
        )
        self.register_outputs(
            {
                "serverId": self.server.id,
                "ipv4": self.primary_ip.ip_address,
                "volumeId": self.volume.id,
            }
        )


class K3sAgentNode(pulumi.ComponentResource):
    """A k3s agent that joins the server over the private network; it keeps no data."""

    server: hcloud.Server
    user_data: pulumi.Output[str]
    node_name: str
    private_ip: str

    def __init__(
        self,
        name: str,
        *,
        index: int,
        settings: HetznerSettings,
        labels: Mapping[str, str],
        network: ClusterNetwork,
        ssh_key_ids: Sequence[pulumi.Input[str]],
        cluster_token: pulumi.Output[str],
        k3s_server: K3sServerNode,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("unrip:hetzner:K3sAgentNode", name, None, opts)
        self.node_name = node_name(settings, index)
        self.private_ip = settings.node_private_ip(index)
        self.user_data = pulumi.Output.secret(
            pulumi.Output.all(
                token=cluster_token,
            ).apply(
                lambda v: render_agent_user_data(
                    AgentBoot(
                        node_name=self.node_name,
                        node_ip=self.private_ip,
                        server_ip=k3s_server.private_ip,
                        k3s_version=settings.k3s_version,
                        cluster_token=v["token"],
                        install_script_sha256=settings.k3s_install_script_sha256,
                    )
                )
            )
        )
        self.server = _k3s_node_server(
            name,
            parent=self,
            settings=settings,
            node_name=self.node_name,
            private_ip=self.private_ip,
            role="agent",
            labels=labels,
            network=network,
            ssh_key_ids=ssh_key_ids,
            user_data=self.user_data,
            public_net=hcloud.ServerPublicNetArgs(ipv4_enabled=True, ipv6_enabled=True),
            depends_on=[network.subnet, k3s_server.server],
        )
        self.register_outputs({"serverId": self.server.id})
