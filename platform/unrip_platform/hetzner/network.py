"""The cluster's private network, its subnet and the nodes' firewall."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_hcloud as hcloud

from unrip_platform.hetzner.config import HetznerSettings
from unrip_platform.hetzner.firewall import inbound_rules, node_openings


class ClusterNetwork(pulumi.ComponentResource):
    """Private network the nodes talk over, and the firewall every node is created behind."""

    network: hcloud.Network
    subnet: hcloud.NetworkSubnet
    firewall: hcloud.Firewall

    def __init__(
        self,
        name: str,
        settings: HetznerSettings,
        labels: Mapping[str, str],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("unrip:hetzner:ClusterNetwork", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.network = hcloud.Network(
            f"{name}-network",
            name=settings.name_prefix,
            ip_range=str(settings.network_cidr),
            labels=dict(labels),
            opts=child,
        )
        self.subnet = hcloud.NetworkSubnet(
            f"{name}-subnet",
            network_id=self.network.id.apply(int),
            type="cloud",
            network_zone=settings.network_zone,
            ip_range=str(settings.subnet_cidr),
            opts=child,
        )
        self.firewall = hcloud.Firewall(
            f"{name}-firewall",
            name=settings.name_prefix,
            labels=dict(labels),
            rules=[
                hcloud.FirewallRuleArgs(
                    direction=rule.direction,
                    protocol=rule.protocol,
                    port=rule.port,
                    source_ips=list(rule.source_ips),
                    description=rule.description,
                )
                for rule in inbound_rules(node_openings(settings))
            ],
            opts=child,
        )
        self.register_outputs(
            {
                "networkId": self.network.id,
                "subnetId": self.subnet.id,
                "firewallId": self.firewall.id,
            }
        )
