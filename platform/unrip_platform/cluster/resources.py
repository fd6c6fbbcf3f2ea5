"""Turns the pure manifests into typed pulumi_kubernetes resources, unchanged.

Top-level fields become the resource's keyword arguments (snake_case, as the SDK names them);
nested objects pass through in the Kubernetes wire format, exactly as rendered and checked
offline.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

import pulumi
import pulumi_kubernetes as k8s

from unrip_platform.cluster.common import Manifest

RESOURCE_TYPES: Final[dict[tuple[str, str], type[pulumi.CustomResource]]] = {
    ("v1", "Namespace"): k8s.core.v1.Namespace,
    ("v1", "ServiceAccount"): k8s.core.v1.ServiceAccount,
    ("v1", "ConfigMap"): k8s.core.v1.ConfigMap,
    ("v1", "Secret"): k8s.core.v1.Secret,
    ("v1", "Service"): k8s.core.v1.Service,
    ("v1", "PersistentVolumeClaim"): k8s.core.v1.PersistentVolumeClaim,
    ("apps/v1", "StatefulSet"): k8s.apps.v1.StatefulSet,
    ("apps/v1", "Deployment"): k8s.apps.v1.Deployment,
    ("batch/v1", "Job"): k8s.batch.v1.Job,
    ("networking.k8s.io/v1", "NetworkPolicy"): k8s.networking.v1.NetworkPolicy,
    ("rbac.authorization.k8s.io/v1", "Role"): k8s.rbac.v1.Role,
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): k8s.rbac.v1.RoleBinding,
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy"): (
        k8s.admissionregistration.v1.ValidatingAdmissionPolicy
    ),
    ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding"): (
        k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding
    ),
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): k8s.rbac.v1.ClusterRole,
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): k8s.rbac.v1.ClusterRoleBinding,
    ("apps/v1", "DaemonSet"): k8s.apps.v1.DaemonSet,
}
# Created after everything else of their group, which they mount, run as or are reached by.
WORKLOAD_KINDS: Final = frozenset({"StatefulSet", "Deployment", "DaemonSet", "Job"})
# local-path binds a claim only when a pod uses it (WaitForFirstConsumer): waiting for "Bound"
# before creating that pod would never end.
SKIP_AWAIT: Final = "pulumi.com/skipAwait"


def snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def resource_name(manifest: Mapping[str, Any]) -> str:
    meta = manifest["metadata"]
    parts = [manifest["kind"].lower(), meta.get("namespace", ""), meta["name"]]
    return "-".join(part for part in parts if part)


def _arguments(manifest: Mapping[str, Any]) -> dict[str, Any]:
    arguments = {
        snake_case(key): value
        for key, value in manifest.items()
        if key not in ("apiVersion", "kind")
    }
    if manifest["kind"] == "PersistentVolumeClaim":
        meta = dict(arguments["metadata"])
        meta["annotations"] = {**meta.get("annotations", {}), SKIP_AWAIT: "true"}
        arguments["metadata"] = meta
    return arguments


def create(manifest: Manifest, opts: pulumi.ResourceOptions | None = None) -> pulumi.CustomResource:
    key = (manifest["apiVersion"], manifest["kind"])
    try:
        resource_type = RESOURCE_TYPES[key]
    except KeyError:
        raise ValueError(f"no Pulumi resource type registered for {key}") from None
    return resource_type(resource_name(manifest), opts=opts, **_arguments(manifest))


def create_group(
    manifests: Sequence[Manifest],
    parent: pulumi.Resource,
    depends_on: Sequence[pulumi.Resource] = (),
) -> dict[str, pulumi.CustomResource]:
    """Every manifest of one component; workloads wait for the group's other objects."""
    created: dict[str, pulumi.CustomResource] = {}
    supporting: list[pulumi.Resource] = []
    for manifest in (m for m in manifests if m["kind"] not in WORKLOAD_KINDS):
        resource = create(manifest, pulumi.ResourceOptions(parent=parent, depends_on=depends_on))
        created[resource_name(manifest)] = resource
        supporting.append(resource)
    for manifest in (m for m in manifests if m["kind"] in WORKLOAD_KINDS):
        opts = pulumi.ResourceOptions(parent=parent, depends_on=[*depends_on, *supporting])
        created[resource_name(manifest)] = create(manifest, opts)
    return created
