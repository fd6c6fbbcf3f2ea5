"""Who may reach what in the monitoring stack, under the platform namespace's default-deny:
Prometheus alone opens connections to metrics ports; Grafana reaches Prometheus only."""

from __future__ import annotations

from typing import Any

from unrip_platform import names
from unrip_platform.cluster.common import (
    Manifest,
    metadata,
    selector,
)
from unrip_platform.cluster.monitoring.constants import (
    ALERTMANAGER,
    ALERTMANAGER_PORT,
    APP_METRICS_PORT,
    APPS,
    GRAFANA,
    KSM_PORT,
    KUBE_STATE_METRICS,
    NODE_EXPORTER,
    NODE_EXPORTER_PORT,
    NS,
    PROMETHEUS,
    PROMETHEUS_PORT,
)
from unrip_platform.cluster.namespaces import (
    FORGEJO_APP,
    REDPANDA_ADMIN_PORT,
    REDPANDA_APP,
    api_server_egress,
    public_internet,
)
from unrip_platform.cluster.settings import NetworkSettings


def _tcp(*ports: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": port} for port in ports]


def _pods(app: str, namespace: str | None = None) -> dict[str, Any]:
    peer: dict[str, Any] = {"podSelector": {"matchLabels": selector(app)}}
    if namespace is not None:
        peer["namespaceSelector"] = {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
    return peer


def _policy(name: str, spec: dict[str, Any]) -> Manifest:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(name, NS, "network"),
        "spec": spec,
    }


def network_policies(network: NetworkSettings) -> list[Manifest]:
    """Prometheus reaches the metrics ports; each scraped component admits Prometheus only."""
    prometheus = _pods(PROMETHEUS)
    apps = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": names.NAMESPACE_APPS}},
        "podSelector": {
            "matchExpressions": [
                {"key": "app.kubernetes.io/name", "operator": "In", "values": list(APPS)}
            ]
        },
    }

    def admits_prometheus(name: str, app: str, port: int) -> Manifest:
        return _policy(
            name,
            {
                "podSelector": {"matchLabels": selector(app)},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [prometheus], "ports": _tcp(port)}],
            },
        )

    return [
        _policy(
            PROMETHEUS,
            {
                "podSelector": {"matchLabels": selector(PROMETHEUS)},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [_pods(GRAFANA)], "ports": _tcp(PROMETHEUS_PORT)}],
                "egress": [
                    {"to": [apps], "ports": _tcp(APP_METRICS_PORT)},
                    {"to": [_pods(REDPANDA_APP)], "ports": _tcp(REDPANDA_ADMIN_PORT)},
                    {"to": [_pods(FORGEJO_APP)], "ports": _tcp(names.FORGEJO_HTTP_PORT)},
                    {"to": [_pods(NODE_EXPORTER)], "ports": _tcp(NODE_EXPORTER_PORT)},
                    {"to": [_pods(KUBE_STATE_METRICS)], "ports": _tcp(KSM_PORT)},
                    {"to": [_pods(ALERTMANAGER)], "ports": _tcp(ALERTMANAGER_PORT)},
                    # Discovery through the API server only. No kubelet: pods never reach a
                    # node's 10250 (docs/security.md); container usage comes from the
                    # processes' own metrics instead (docs/decisions.md).
                    *api_server_egress(network),
                ],
            },
        ),
        _policy(
            ALERTMANAGER,
            {
                "podSelector": {"matchLabels": selector(ALERTMANAGER)},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [prometheus], "ports": _tcp(ALERTMANAGER_PORT)}],
                # The receiver (webhook / ntfy) over HTTPS, on the public internet only.
                "egress": [{"to": [public_internet(network)], "ports": _tcp(443)}],
            },
        ),
        _policy(
            GRAFANA,
            {
                # Reached by port-forward only (which no NetworkPolicy sees); reads Prometheus.
                "podSelector": {"matchLabels": selector(GRAFANA)},
                "policyTypes": ["Ingress", "Egress"],
                "egress": [{"to": [prometheus], "ports": _tcp(PROMETHEUS_PORT)}],
            },
        ),
        admits_prometheus(NODE_EXPORTER, NODE_EXPORTER, NODE_EXPORTER_PORT),
        _policy(
            KUBE_STATE_METRICS,
            {
                "podSelector": {"matchLabels": selector(KUBE_STATE_METRICS)},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [prometheus], "ports": _tcp(KSM_PORT)}],
                "egress": [
                    *api_server_egress(network),
                ],
            },
        ),
        # Added to Redpanda's own policy (policies are additive): its public metrics.
        admits_prometheus("redpanda-metrics", REDPANDA_APP, REDPANDA_ADMIN_PORT),
    ]
