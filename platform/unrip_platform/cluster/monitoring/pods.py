"""The pod pieces every monitoring workload is made of: hardened containers, a Service, a
Deployment or DaemonSet around them, and the short-lived API token only scrapers mount."""

from __future__ import annotations

from typing import Any

from unrip_platform.cluster.common import (
    Manifest,
    container_security_context,
    http_probe,
    labels,
    metadata,
    pod_security_context,
    resources,
    selector,
)
from unrip_platform.cluster.monitoring.constants import (
    COMPONENT,
    NS,
)


def api_token_volume() -> dict[str, Any]:
    """The ServiceAccount token, mounted explicitly (projected, rotating) where it is needed."""
    return {
        "name": "kube-api-access",
        "projected": {
            "defaultMode": 0o444,
            "sources": [
                {"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}},
                {
                    "configMap": {
                        "name": "kube-root-ca.crt",
                        "items": [{"key": "ca.crt", "path": "ca.crt"}],
                    }
                },
                {
                    "downwardAPI": {
                        "items": [
                            {"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}
                        ]
                    }
                },
            ],
        },
    }


def service(name: str, port: int) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(name, NS, COMPONENT),
        "spec": {
            "type": "ClusterIP",
            "selector": selector(name),
            "ports": [{"name": "http", "port": port, "targetPort": "http"}],
        },
    }


def hardened_container(
    name: str,
    image: str,
    args: list[str],
    port: int,
    spec_resources: Any,
    *,
    live: str,
    ready: str,
    mounts: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "args": args,
        "ports": [{"name": "http", "containerPort": port}],
        "securityContext": container_security_context(),
        "resources": resources(spec_resources),
        "startupProbe": http_probe(ready, "http", period=5, failures=60),
        "readinessProbe": http_probe(ready, "http"),
        "livenessProbe": http_probe(live, "http", period=30, failures=4),
        "volumeMounts": mounts,
    }


def workload(
    kind: str,
    name: str,
    uid: int,
    containers: list[dict[str, Any]],
    volumes: list[dict[str, Any]],
    *,
    config_hash: str = "",
    extra_labels: dict[str, str] | None = None,
) -> Manifest:
    pod_labels = {**labels(name, COMPONENT), **(extra_labels or {})}
    template: dict[str, Any] = {
        "metadata": {"labels": pod_labels},
        "spec": {
            "serviceAccountName": name,
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "securityContext": pod_security_context(uid),
            "containers": containers,
            "volumes": volumes,
        },
    }
    if config_hash:
        template["metadata"]["annotations"] = {"unrip.io/config-hash": config_hash}
    spec: dict[str, Any] = {"selector": {"matchLabels": selector(name)}, "template": template}
    if kind == "Deployment":
        # One writer of a volume (Prometheus' TSDB) or one instance: never two pods at once.
        spec.update({"replicas": 1, "strategy": {"type": "Recreate"}})
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": metadata(name, NS, COMPONENT),
        "spec": spec,
    }
