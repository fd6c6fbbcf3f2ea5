"""The whole Hetzner side of unrip as one component: network, keys, token and the nodes."""

from __future__ import annotations

import pulumi
import pulumi_hcloud as hcloud
import pulumi_random as random

from unrip_platform.hetzner.config import HetznerSettings
from unrip_platform.hetzner.network import ClusterNetwork
from unrip_platform.hetzner.nodes import K3sAgentNode, K3sServerNode

# Long enough to be unguessable, alphanumeric so it needs no quoting anywhere.
CLUSTER_TOKEN_LENGTH = 48


class K3sCluster(pulumi.ComponentResource):
    """A k3s cluster of `settings.node_count` nodes: node 0 is the server, the rest agents."""

    network: ClusterNetwork
    ssh_keys: list[hcloud.SshKey]
    cluster_token: pulumi.Output[str]
    server: K3sServerNode
    agents: list[K3sAgentNode]
    settings: HetznerSettings

    def __init__(
        self, name: str, settings: HetznerSettings, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("unrip:hetzner:K3sCluster", name, None, opts)
        self.settings = settings
        child = pulumi.ResourceOptions(parent=self)
        labels = {"app": "unrip", "cluster": settings.name_prefix, "managed-by": "pulumi"}

        self.network = ClusterNetwork(name, settings, labels, opts=child)
        # Named by key fingerprint, so reordering the config list changes nothing.
        self.ssh_keys = [
            hcloud.SshKey(
                f"{name}-ssh-{key.short_id}",
                name=f"{settings.name_prefix}-{key.short_id}",
                public_key=key.openssh,
                labels=labels,
                opts=child,
            )
            for key in settings.ssh_public_keys
        ]
        # k3s encrypts its bootstrap data on the volume with this token: a new token would
        # lock a rebuilt server out of its own datastore, so it is protected like the data.
        token = random.RandomPassword(
            f"{name}-k3s-token",
            length=CLUSTER_TOKEN_LENGTH,
            special=False,
            opts=pulumi.ResourceOptions(parent=self, protect=settings.protect_data),
        )
        # Secret in state and in every value derived from it (the user data above all).
        self.cluster_token = pulumi.Output.secret(token.result)
        ssh_key_ids = [key.id for key in self.ssh_keys]

        self.server = K3sServerNode(
            f"{name}-node-0",
            settings=settings,
            labels=labels,
            network=self.network,
            ssh_key_ids=ssh_key_ids,
            cluster_token=self.cluster_token,
            opts=child,
        )
        self.agents = [
            K3sAgentNode(
                f"{name}-node-{index}",
                index=index,
                settings=settings,
                labels=labels,
                network=self.network,
                ssh_key_ids=ssh_key_ids,
                cluster_token=self.cluster_token,
                k3s_server=self.server,
                opts=child,
            )
            for index in range(1, settings.node_count)
        ]
        self.register_outputs({"serverId": self.server.server.id})
