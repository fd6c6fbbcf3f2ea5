"""Building blocks every workload shares: labels, the pod hardening baseline, resources, probes.

Manifests are plain dicts in the Kubernetes wire format (camelCase), so the same object is what
the schema validator sees, what checkov scans and what Pulumi sends to the API server.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Final

from unrip_platform.cluster.settings import Resources

Manifest = dict[str, Any]

PART_OF: Final = "unrip"
MANAGED_BY: Final = "pulumi"


def labels(name: str, component: str) -> dict[str, str]:
    """Recommended labels; ``app.kubernetes.io/name`` is also the selector label."""
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": MANAGED_BY,
    }


def selector(name: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": name}


def metadata(
    name: str,
    namespace: str,
    component: str,
    *,
    label_name: str | None = None,
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "labels": labels(label_name or name, component),
    }
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


def content_hash(*parts: str) -> str:
    """Short stable digest: rolls pods when their configuration changes, names immutable Jobs."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:10]


def pod_security_context(uid: int, gid: int | None = None) -> dict[str, Any]:
    """The pod baseline: non-root with a fixed UID, volumes group-owned, RuntimeDefault seccomp."""
    group = uid if gid is None else gid
    return {
        "runAsNonRoot": True,
        "runAsUser": uid,
        "runAsGroup": group,
        "fsGroup": group,
        "fsGroupChangePolicy": "OnRootMismatch",
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def container_security_context(*, read_only_root: bool = True) -> dict[str, Any]:
    """The container baseline: no privilege escalation, every capability dropped."""
    return {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": read_only_root,
        "runAsNonRoot": True,
        "privileged": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def resources(spec: Resources) -> dict[str, Any]:
    return {
        "requests": {"cpu": spec.cpu_request, "memory": spec.memory_request},
        "limits": {"cpu": spec.cpu_limit, "memory": spec.memory_limit},
    }


SMALL: Final = Resources(
    cpu_request="10m", cpu_limit="200m", memory_request="16Mi", memory_limit="128Mi"
)


def http_probe(
    path: str, port: int | str, *, period: int = 10, failures: int = 3, timeout: int = 5
) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": port},
        "periodSeconds": period,
        "failureThreshold": failures,
        "timeoutSeconds": timeout,
    }


def tcp_probe(port: int | str, *, period: int = 10, failures: int = 3) -> dict[str, Any]:
    return {"tcpSocket": {"port": port}, "periodSeconds": period, "failureThreshold": failures}


def exec_probe(command: list[str], *, period: int = 30, failures: int = 3) -> dict[str, Any]:
    return {
        "exec": {"command": command},
        "periodSeconds": period,
        "failureThreshold": failures,
        "timeoutSeconds": 10,
    }


def empty_dir(name: str, size_limit: str = "256Mi") -> dict[str, Any]:
    return {"name": name, "emptyDir": {"sizeLimit": size_limit}}


def mount(
    name: str, path: str, *, read_only: bool = False, sub_path: str | None = None
) -> dict[str, Any]:
    volume_mount: dict[str, Any] = {"name": name, "mountPath": path}
    if read_only:
        volume_mount["readOnly"] = True
    if sub_path:
        volume_mount["subPath"] = sub_path
    return volume_mount


def config_map(name: str, namespace: str, component: str, data: Mapping[str, str]) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(name, namespace, component),
        "data": dict(data),
    }


def secret(name: str, namespace: str, component: str, string_data: Mapping[str, Any]) -> Manifest:
    """An Opaque Secret; values may be Pulumi Outputs (they stay secret end to end)."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": metadata(name, namespace, component),
        "type": "Opaque",
        "stringData": dict(string_data),
    }


def service_account(name: str, namespace: str, component: str) -> Manifest:
    """A ServiceAccount whose token is never mounted unless a pod asks for it explicitly."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": metadata(name, namespace, component),
        "automountServiceAccountToken": False,
    }
