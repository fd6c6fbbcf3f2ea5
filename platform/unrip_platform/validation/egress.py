"""What NetworkPolicies let a pod reach: an offline evaluator of egress rules towards addresses.

Only ipBlock peers can name an address outside the pod network (the node's metadata service,
a node's kubelet or API server); pod and namespace selectors match pod addresses only, which
are never those. A rule without ``to`` reaches every address, a rule without ``ports`` every
port, and a pod that no Egress policy selects is not restricted at all: all three count as
reaching the address here, so a missing policy is as visible as a permissive one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final

Manifest = dict[str, Any]

# Hetzner's (and most clouds') metadata service: it serves the node's user data.
METADATA_ADDRESS: Final = "169.254.169.254"
KUBELET_PORT: Final = 10250


@dataclass(frozen=True)
class Grant:
    """One egress rule of one policy that lets its pods reach ``address:port``."""

    namespace: str
    policy: str
    rule: int

    def __str__(self) -> str:
        return f"{self.namespace}/{self.policy} egress[{self.rule}]"


def policies(manifests: Iterable[Manifest]) -> Iterator[Manifest]:
    for manifest in manifests:
        if manifest.get("kind") == "NetworkPolicy":
            yield manifest


def _peer_reaches(peer: Mapping[str, Any], address: ipaddress.IPv4Address) -> bool:
    block = peer.get("ipBlock")
    if block is None:
        return False  # pod/namespace selectors: pod addresses only
    if address not in ipaddress.ip_network(block["cidr"], strict=False):
        return False
    return not any(
        address in ipaddress.ip_network(cidr, strict=False) for cidr in block.get("except", [])
    )


def _port_matches(ports: list[Mapping[str, Any]] | None, port: int) -> bool:
    if not ports:
        return True
    for entry in ports:
        if entry.get("protocol", "TCP") != "TCP":
            continue
        if "port" not in entry:
            return True
        first = entry["port"]
        if not isinstance(first, int):
            return True  # a named port may be anything
        if first <= port <= entry.get("endPort", first):
            return True
    return False


def grants(manifests: Iterable[Manifest], address: str, port: int) -> list[Grant]:
    """Every egress rule, in any policy, that allows TCP to ``address:port``."""
    target = ipaddress.IPv4Address(address)
    found = []
    for policy in policies(manifests):
        spec = policy["spec"]
        if "Egress" not in spec.get("policyTypes", ["Ingress"]):
            continue
        for index, rule in enumerate(spec.get("egress") or []):
            peers = rule.get("to")
            reaches = not peers or any(_peer_reaches(peer, target) for peer in peers)
            if reaches and _port_matches(rule.get("ports"), port):
                meta = policy["metadata"]
                found.append(Grant(meta.get("namespace", ""), meta["name"], index))
    return found


def namespaces_without_default_deny(manifests: Iterable[Manifest]) -> set[str]:
    """Namespaces with pods of a workload but no policy that restricts every pod's egress."""
    items = list(manifests)
    workload_namespaces = {
        m["metadata"]["namespace"]
        for m in items
        if m.get("kind") in ("Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob")
    }
    denied = {
        p["metadata"]["namespace"]
        for p in policies(items)
        if p["spec"].get("podSelector") == {} and "Egress" in p["spec"].get("policyTypes", [])
    }
    return workload_namespaces - denied
