"""What Prometheus scrapes besides the apps: node-exporter on every node and
kube-state-metrics for the cluster's objects."""

from __future__ import annotations

from unrip_platform import names
from unrip_platform.cluster.common import (
    Manifest,
    labels,
    mount,
    service_account,
)
from unrip_platform.cluster.monitoring.constants import (
    COMPONENT,
    KSM_PORT,
    KSM_TELEMETRY_PORT,
    KUBE_STATE_METRICS,
    NOBODY,
    NODE_EXPORTER,
    NODE_EXPORTER_PORT,
    NS,
    TOKEN_DIR,
)
from unrip_platform.cluster.monitoring.pods import (
    api_token_volume,
    hardened_container,
    service,
    workload,
)
from unrip_platform.cluster.settings import ClusterSettings


def node_exporter_manifests(settings: ClusterSettings) -> list[Manifest]:
    """Node metrics (CPU, memory, filesystems: the data volume) from the host's root, read-only.

    Pod network, no host PID or network namespace: only the host filesystem is shared, so the
    NetworkPolicy still decides who reaches it.
    """
    excluded = "^/(dev|proc|sys|run|var/lib/kubelet|var/lib/rancher/k3s/agent/containerd)($|/)"
    args = [
        "--path.rootfs=/host/root",
        f"--web.listen-address=:{NODE_EXPORTER_PORT}",
        f"--collector.filesystem.mount-points-exclude={excluded}",
        "--no-collector.wifi",
        "--no-collector.hwmon",
    ]
    container = hardened_container(
        NODE_EXPORTER,
        settings.images.node_exporter,
        args,
        NODE_EXPORTER_PORT,
        settings.monitoring.small_resources,
        live="/",
        ready="/",
        mounts=[
            {
                "name": "root",
                "mountPath": "/host/root",
                "readOnly": True,
                "mountPropagation": "HostToContainer",
            }
        ],
    )
    return [
        service_account(NODE_EXPORTER, NS, COMPONENT),
        workload(
            "DaemonSet",
            NODE_EXPORTER,
            NOBODY,
            [container],
            [{"name": "root", "hostPath": {"path": "/", "type": "Directory"}}],
        ),
    ]


def kube_state_metrics_manifests(settings: ClusterSettings) -> list[Manifest]:
    watched = ["pods", "deployments", "statefulsets", "daemonsets", "persistentvolumeclaims"]
    args = [
        f"--port={KSM_PORT}",
        f"--telemetry-port={KSM_TELEMETRY_PORT}",
        f"--resources={','.join(watched)}",
        f"--namespaces={names.NAMESPACE_APPS},{NS}",
    ]
    container = hardened_container(
        KUBE_STATE_METRICS,
        settings.images.kube_state_metrics,
        args,
        KSM_PORT,
        settings.monitoring.small_resources,
        live="/healthz",
        ready="/healthz",
        mounts=[mount("kube-api-access", TOKEN_DIR, read_only=True)],
    )
    role_name = "unrip-kube-state-metrics"
    return [
        service_account(KUBE_STATE_METRICS, NS, COMPONENT),
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": role_name, "labels": labels(KUBE_STATE_METRICS, COMPONENT)},
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["pods", "persistentvolumeclaims"],
                    "verbs": ["list", "watch"],
                },
                {
                    "apiGroups": ["apps"],
                    "resources": ["deployments", "statefulsets", "daemonsets"],
                    "verbs": ["list", "watch"],
                },
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": role_name, "labels": labels(KUBE_STATE_METRICS, COMPONENT)},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": role_name,
            },
            "subjects": [{"kind": "ServiceAccount", "name": KUBE_STATE_METRICS, "namespace": NS}],
        },
        service(KUBE_STATE_METRICS, KSM_PORT),
        workload(
            "Deployment",
            KUBE_STATE_METRICS,
            NOBODY,
            [container],
            [api_token_volume()],
        ),
    ]
