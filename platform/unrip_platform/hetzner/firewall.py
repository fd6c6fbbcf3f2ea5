"""Inbound firewall rules of the nodes, as a pure function of the settings.

Hetzner Cloud firewalls allow nothing inbound that no rule names, and allow all outbound
traffic while there are no outbound rules, so the rule list *is* the exposure. Rules are
merged per (direction, protocol, port): the API stores duplicates as separate rules, which
then show up as a diff on every run. Private-network traffic is not filtered by Hetzner
firewalls, so nodes reach each other over the private network without rules here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from unrip_platform.hetzner.config import HetznerSettings, IpNetwork
from unrip_platform.names import KUBE_API_PORT

SSH_PORT: Final = 22
EVERYWHERE: Final[tuple[IpNetwork, ...]] = (
    ipaddress.IPv4Network("0.0.0.0/0"),
    ipaddress.IPv6Network("::/0"),
)


@dataclass(frozen=True)
class Opening:
    """One reason to let traffic in: who may reach which port, and why."""

    protocol: str
    port: int
    sources: tuple[IpNetwork, ...]
    description: str


@dataclass(frozen=True)
class FirewallRule:
    """One Hetzner firewall rule, in the shape of `hcloud.FirewallRuleArgs`."""

    direction: str
    protocol: str
    port: str
    source_ips: tuple[str, ...]
    description: str


def node_openings(settings: HetznerSettings) -> list[Opening]:
    """SSH and the Kubernetes API for the operators; nothing else (no ingress is published:
    operators reach Forgejo through `kubectl port-forward`)."""
    return [
        Opening("tcp", SSH_PORT, settings.operator_cidrs, "SSH from the operators"),
        Opening("tcp", KUBE_API_PORT, settings.operator_cidrs, "Kubernetes API from the operators"),
    ]


def inbound_rules(openings: Iterable[Opening]) -> list[FirewallRule]:
    """One rule per (protocol, port), its sources the union of every opening's, sorted."""
    merged: dict[tuple[str, int], tuple[set[IpNetwork], list[str]]] = {}
    for opening in openings:
        sources, descriptions = merged.setdefault((opening.protocol, opening.port), (set(), []))
        sources.update(opening.sources)
        if opening.description not in descriptions:
            descriptions.append(opening.description)
    return [
        FirewallRule(
            direction="in",
            protocol=protocol,
            port=str(port),
            source_ips=tuple(str(net) for net in _collapse(sources)),
            # Hetzner limits descriptions to 255 characters.
            description="; ".join(descriptions)[:255],
        )
        for (protocol, port), (sources, descriptions) in sorted(merged.items())
    ]


def _collapse(networks: set[IpNetwork]) -> list[IpNetwork]:
    """Merge adjacent and drop covered networks; IPv4 first, then IPv6, each sorted."""
    v4 = [net for net in networks if isinstance(net, ipaddress.IPv4Network)]
    v6 = [net for net in networks if isinstance(net, ipaddress.IPv6Network)]
    return [*ipaddress.collapse_addresses(v4), *ipaddress.collapse_addresses(v6)]
