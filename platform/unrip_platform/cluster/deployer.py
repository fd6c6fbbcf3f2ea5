"""The deploy workflow's identity: a ServiceAccount that can roll out the apps, and nothing else.

The Role lives in the apps namespace, so the token cannot touch the platform namespace, nodes
or any cluster-scoped object; in apps it may manage Roles and RoleBindings, which Kubernetes
limits to rights the deployer itself holds. Secrets are not in the Role either: the apps'
secrets are injected by the bootstrap, never by a workflow.
The long-lived token Secret is filled in by Kubernetes; the bootstrap reads it and stores it as
a Forgejo Actions secret. It never enters git or Pulumi state.
"""

from __future__ import annotations

from typing import Any, Final

from unrip_platform import names
from unrip_platform.cluster.common import Manifest, metadata, service_account

NS: Final = names.NAMESPACE_APPS
COMPONENT: Final = "deploy"
NAME: Final = names.DEPLOYER_SERVICE_ACCOUNT

READ: Final = ("get", "list", "watch")
WRITE: Final = ("get", "list", "watch", "create", "update", "patch", "delete")


def _rule(group: str, resources: tuple[str, ...], verbs: tuple[str, ...]) -> dict[str, Any]:
    return {"apiGroups": [group], "resources": list(resources), "verbs": list(verbs)}


def rules() -> list[dict[str, Any]]:
    """What `kubectl apply -k` of the apps overlay and `kubectl rollout status` need."""
    return [
        _rule("", ("configmaps", "services", "serviceaccounts"), WRITE),
        _rule("", ("pods", "pods/log", "events", "endpoints"), READ),
        _rule("apps", ("deployments", "statefulsets"), WRITE),
        _rule("apps", ("replicasets", "controllerrevisions"), READ),
        _rule("batch", ("jobs",), WRITE),
        _rule("policy", ("poddisruptionbudgets",), WRITE),
        _rule("networking.k8s.io", ("networkpolicies",), WRITE),
        _rule("autoscaling", ("horizontalpodautoscalers",), WRITE),
        # The apps' own Roles (the reactor reads its strategy ConfigMap). RBAC's escalation
        # check lets the deployer grant only what it holds itself, so this adds no rights.
        _rule("rbac.authorization.k8s.io", ("roles", "rolebindings"), WRITE),
    ]


def deployer_manifests() -> list[Manifest]:
    return [
        service_account(NAME, NS, COMPONENT),
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": metadata(NAME, NS, COMPONENT),
            "rules": rules(),
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": metadata(NAME, NS, COMPONENT),
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": NAME},
            "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": NS}],
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": metadata(
                names.DEPLOYER_TOKEN_SECRET,
                NS,
                COMPONENT,
                annotations={"kubernetes.io/service-account.name": NAME},
            ),
            "type": "kubernetes.io/service-account-token",
        },
    ]
