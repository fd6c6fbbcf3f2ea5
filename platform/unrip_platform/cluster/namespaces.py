"""Namespaces and their network policy: deny everything, then allow exactly the flows we need.

Flows (everything else is dropped):
- any pod -> kube-dns (53)
- apps -> Redpanda (9092); the topic job -> Redpanda (9092); the bus-access job -> Redpanda
  (9092, and the Admin API 9644, where users are made); Redpanda <-> Redpanda (replicas)
- apps pods labelled names.VENUE_EGRESS_LABEL -> the public internet on 443 (venue websockets),
  never to cluster or private ranges
- anyone -> Forgejo (3000): the node's containerd pulls through the NodePort and
  node-originated traffic cannot be selected portably; Forgejo authenticates every request and
  every namespace here restricts its own egress, so apps pods still cannot reach it
- runner -> Forgejo (3000) and -> the public internet on 80/443 (package registries); never
  the API server: CI deploys nothing (the deploy agent does, see ``agent``)

No rule reaches link-local addresses (Hetzner's metadata service, 169.254.169.254, serves the
node's user data) or the nodes' kubelet (10250): every ipBlock excepts them, and rules towards
the internet name their ports. The node's firewall blocks both for pods as well (node_setup.sh),
so this holds even where a NetworkPolicy is missing or wrong.
"""

from __future__ import annotations

from typing import Any, Final

from unrip_platform import names
from unrip_platform.cluster.common import Manifest, labels, metadata, selector
from unrip_platform.cluster.settings import NetworkSettings

NAMESPACE_LABEL: Final = "kubernetes.io/metadata.name"
PRIVATE_RANGES: Final = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
# Link-local: the cloud's metadata service (169.254.169.254) lives here.
LINK_LOCAL: Final = "169.254.0.0/16"
# The only ports the internet rules open: HTTPS, and HTTP for Debian's package mirrors.
WEB_PORTS: Final = (80, 443)

REDPANDA_APP: Final = "redpanda"
TOPICS_APP: Final = "redpanda-topics"
BUS_ACCESS_APP: Final = "redpanda-bus-access"
FORGEJO_APP: Final = "forgejo"
RUNNER_APP: Final = "forgejo-runner"
REDPANDA_RPC_PORT: Final = 33145
REDPANDA_ADMIN_PORT: Final = 9644


def namespace(name: str, *, enforce: str) -> Manifest:
    """A namespace with Pod Security Admission: ``enforce`` as given, warn/audit at restricted."""
    ns_labels = labels(name, "namespace")
    ns_labels.update(
        {
            "pod-security.kubernetes.io/enforce": enforce,
            "pod-security.kubernetes.io/warn": "restricted",
            "pod-security.kubernetes.io/audit": "restricted",
        }
    )
    return {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": name, "labels": ns_labels},
    }


def _policy(name: str, namespace: str, spec: dict[str, Any]) -> Manifest:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(name, namespace, "network"),
        "spec": spec,
    }


def _tcp(*ports: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": port} for port in ports]


def _in_namespace(ns: str) -> dict[str, Any]:
    return {"namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: ns}}}


def _pods(app: str, ns: str | None = None) -> dict[str, Any]:
    peer: dict[str, Any] = {"podSelector": {"matchLabels": selector(app)}}
    if ns is not None:
        peer.update(_in_namespace(ns))
    return peer


def public_internet(network: NetworkSettings) -> dict[str, Any]:
    """Every address but the cluster's, the private ranges (nodes included) and link-local."""
    excluded = [network.cluster_cidr, network.service_cidr, *PRIVATE_RANGES, LINK_LOCAL]
    return {"ipBlock": {"cidr": "0.0.0.0/0", "except": sorted(set(excluded))}}


def api_server_egress(network: NetworkSettings) -> list[dict[str, Any]]:
    """The Kubernetes API: its Service address, and the server node's 6443 (after DNAT)."""
    return [
        {"to": [{"ipBlock": {"cidr": network.api_service_ip + "/32"}}], "ports": _tcp(443)},
        {
            "to": [{"ipBlock": {"cidr": network.api_server_ip + "/32"}}],
            "ports": _tcp(names.KUBE_API_PORT),
        },
    ]


def _common(ns: str) -> list[Manifest]:
    dns = {
        "namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: "kube-system"}},
        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
    }
    return [
        _policy("default-deny", ns, {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
        _policy(
            "allow-dns",
            ns,
            {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [dns],
                        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                    }
                ],
            },
        ),
    ]


def platform_policies(network: NetworkSettings) -> list[Manifest]:
    ns = names.NAMESPACE_PLATFORM
    kafka = names.REDPANDA_KAFKA_PORT
    return [
        *_common(ns),
        _policy(
            "redpanda",
            ns,
            {
                "podSelector": {"matchLabels": selector(REDPANDA_APP)},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [
                    {"from": [_in_namespace(names.NAMESPACE_APPS)], "ports": _tcp(kafka)},
                    {"from": [_pods(TOPICS_APP)], "ports": _tcp(kafka)},
                    {"from": [_pods(BUS_ACCESS_APP)], "ports": _tcp(kafka, REDPANDA_ADMIN_PORT)},
                    {
                        "from": [_pods(REDPANDA_APP)],
                        "ports": _tcp(kafka, REDPANDA_RPC_PORT, REDPANDA_ADMIN_PORT),
                    },
                ],
                "egress": [
                    {
                        "to": [_pods(REDPANDA_APP)],
                        "ports": _tcp(kafka, REDPANDA_RPC_PORT, REDPANDA_ADMIN_PORT),
                    }
                ],
            },
        ),
        _policy(
            "redpanda-topics",
            ns,
            {
                "podSelector": {"matchLabels": selector(TOPICS_APP)},
                "policyTypes": ["Egress"],
                "egress": [{"to": [_pods(REDPANDA_APP)], "ports": _tcp(kafka)}],
            },
        ),
        _policy(
            "redpanda-bus-access",
            ns,
            {
                "podSelector": {"matchLabels": selector(BUS_ACCESS_APP)},
                "policyTypes": ["Egress"],
                "egress": [
                    {"to": [_pods(REDPANDA_APP)], "ports": _tcp(kafka, REDPANDA_ADMIN_PORT)}
                ],
            },
        ),
        _policy(
            "forgejo",
            ns,
            {
                "podSelector": {"matchLabels": selector(FORGEJO_APP)},
                "policyTypes": ["Ingress"],
                "ingress": [{"ports": _tcp(names.FORGEJO_HTTP_PORT)}],
            },
        ),
        _policy(
            "forgejo-runner",
            ns,
            {
                "podSelector": {"matchLabels": selector(RUNNER_APP)},
                "policyTypes": ["Egress"],
                "egress": [
                    {"to": [_pods(FORGEJO_APP)], "ports": _tcp(names.FORGEJO_HTTP_PORT)},
                    {"to": [public_internet(network)], "ports": _tcp(*WEB_PORTS)},
                ],
            },
        ),
    ]


def apps_policies(network: NetworkSettings) -> list[Manifest]:
    ns = names.NAMESPACE_APPS
    return [
        *_common(ns),
        _policy(
            "allow-kafka",
            ns,
            {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [_pods(REDPANDA_APP, names.NAMESPACE_PLATFORM)],
                        "ports": _tcp(names.REDPANDA_KAFKA_PORT),
                    }
                ],
            },
        ),
        _policy(
            "allow-venues",
            ns,
            {
                # Only pods that need a venue (the ingest) carry the label.
                "podSelector": {"matchLabels": {names.VENUE_EGRESS_LABEL: "true"}},
                "policyTypes": ["Egress"],
                "egress": [{"to": [public_internet(network)], "ports": _tcp(443)}],
            },
        ),
    ]


def namespace_manifests(network: NetworkSettings) -> list[Manifest]:
    """Both namespaces and their policies.

    apps enforces the restricted Pod Security Standard. platform only warns about it: the
    runner's rootless BuildKit needs Unconfined seccomp/AppArmor, which even baseline forbids.
    """
    return [
        namespace(names.NAMESPACE_PLATFORM, enforce="privileged"),
        namespace(names.NAMESPACE_APPS, enforce="restricted"),
        *platform_policies(network),
        *apps_policies(network),
    ]
