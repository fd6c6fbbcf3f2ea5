"""The deploy identity: the deploy agent's ServiceAccount may roll out the apps, and nothing else.

The Role lives in the apps namespace, so the token cannot touch the platform namespace, nodes
or any cluster-scoped object. Within apps it writes workloads, Services, ConfigMaps and PDBs
only: no Secrets, no RBAC (Roles, RoleBindings), no ServiceAccounts and no NetworkPolicies, so
it can neither widen its own rights nor open the network (those come from this project or the
operator's `deploy.py --operator`). RBAC cannot exclude objects from a grant, so a
ValidatingAdmissionPolicy, matched on the deployer's username, refuses the rest:
- any pod template that reads the venue's signing material (the near-intents Secret's keys
  other than the relay JWT, by env, envFrom or a volume): a pod the deployer creates cannot
  reach the venue key;
- any pod template that reads another workload's bus login: a ``bus-<service>`` Secret only
  in the pod template labelled ``app.kubernetes.io/name: <service>``, so a pod the deployer
  creates cannot log in to the bus as the executor (and write ledger or results) unless it
  is the executor;
- any write to the reactor's strategy ConfigMap (kill switch, limits): it changes only through
  the operator's documented path (docs/reactor.md).
The one subject is the deploy agent's ServiceAccount (namespace ``deploy``, see ``agent``),
whose token is a projected, hour-long one inside the agent's pod. There is no long-lived token
Secret any more and none in Forgejo: no workflow can reach the rollout's credential.
"""

from __future__ import annotations

from typing import Any, Final

from unrip_platform import names
from unrip_platform.cluster.common import Manifest, metadata

NS: Final = names.NAMESPACE_APPS
COMPONENT: Final = "deploy"
NAME: Final = names.DEPLOYER_ROLE

READ: Final = ("get", "list", "watch")
USERNAME: Final = f"system:serviceaccount:{names.NAMESPACE_DEPLOY}:{names.DEPLOY_AGENT}"
GUARD: Final = "unrip-deployer-guard"
# Keys of the venue Secret a deployer-made pod may read: the relay JWT (the ingest's login).
READABLE_VENUE_KEYS: Final = (names.APPS_SECRET_NEAR_INTENTS_JWT_KEY,)
WRITE: Final = ("get", "list", "watch", "create", "update", "patch", "delete")


def _rule(group: str, resources: tuple[str, ...], verbs: tuple[str, ...]) -> dict[str, Any]:
    return {"apiGroups": [group], "resources": list(resources), "verbs": list(verbs)}


def rules() -> list[dict[str, Any]]:
    """What `kubectl apply -k` of the apps overlay and `kubectl rollout status` need."""
    return [
        _rule("", ("configmaps", "services"), WRITE),
        _rule("", ("pods", "pods/log", "events", "endpoints", "serviceaccounts"), READ),
        _rule("apps", ("deployments", "statefulsets"), WRITE),
        _rule("apps", ("replicasets", "controllerrevisions"), READ),
        _rule("batch", ("jobs",), WRITE),
        _rule("policy", ("poddisruptionbudgets",), WRITE),
        _rule("networking.k8s.io", ("networkpolicies",), READ),
        _rule("autoscaling", ("horizontalpodautoscalers",), WRITE),
        _rule("rbac.authorization.k8s.io", ("roles", "rolebindings"), READ),
    ]


_POD: Final = (
    "object.kind == 'CronJob' ? object.spec.jobTemplate.spec.template.spec : "
    "object.kind == 'Pod' ? object.spec : object.spec.template.spec"
)
_POD_METADATA: Final = (
    "object.kind == 'CronJob' ? object.spec.jobTemplate.spec.template.metadata : "
    "object.kind == 'Pod' ? object.metadata : object.spec.template.metadata"
)
APP_LABEL: Final = "app.kubernetes.io/name"
# The bus Secret this pod template may read: its own app's ("bus-" alone when unlabelled,
# which names no Secret).
_OWN_BUS_SECRET: Final = (
    f"'{names.BUS_SECRET_PREFIX}' + (has(variables.podMetadata.labels) && "
    f"'{APP_LABEL}' in variables.podMetadata.labels ? "
    f"variables.podMetadata.labels['{APP_LABEL}'] : '')"
)
_CONTAINERS: Final = (
    "variables.pod.containers + "
    "(has(variables.pod.initContainers) ? variables.pod.initContainers : [])"
)


def guard_validations() -> list[dict[str, str]]:
    """CEL over the request: each names what it refuses, for `kubectl apply` to print."""
    venue = names.APPS_SECRET_NEAR_INTENTS
    readable = "[" + ", ".join(f"'{key}'" for key in READABLE_VENUE_KEYS) + "]"
    is_workload = "object.kind != 'ConfigMap'"
    return [
        {
            "expression": (
                "!(request.resource.resource == 'configmaps' && "
                "(request.operation == 'DELETE' ? oldObject : object).metadata.name == "
                f"'{names.REACTOR_STRATEGY_CONFIGMAP}')"
            ),
            "message": (
                f"the deployer may not change the {names.REACTOR_STRATEGY_CONFIGMAP} ConfigMap "
                "(kill switch, limits): the operator does (docs/reactor.md)"
            ),
        },
        {
            "expression": (
                f"request.operation == 'DELETE' || !({is_workload}) || "
                "!has(variables.pod.volumes) || variables.pod.volumes.all(v, "
                f"(!has(v.secret) || v.secret.secretName != '{venue}') && "
                "(!has(v.projected) || v.projected.sources.all(s, "
                f"!has(s.secret) || s.secret.name != '{venue}')))"
            ),
            "message": f"pods the deployer creates may not mount the {venue} Secret",
        },
        {
            "expression": (
                f"request.operation == 'DELETE' || !({is_workload}) || "
                f"variables.containers.all(c, (!has(c.envFrom) || c.envFrom.all(f, "
                f"!has(f.secretRef) || f.secretRef.name != '{venue}')) && "
                "(!has(c.env) || c.env.all(e, !has(e.valueFrom) || "
                "!has(e.valueFrom.secretKeyRef) || "
                f"e.valueFrom.secretKeyRef.name != '{venue}' || "
                f"e.valueFrom.secretKeyRef.key in {readable})))"
            ),
            "message": (
                f"pods the deployer creates may read only {', '.join(READABLE_VENUE_KEYS)} "
                f"of the {venue} Secret, never the venue's signing key"
            ),
        },
        {
            "expression": (
                f"request.operation == 'DELETE' || !({is_workload}) || ("
                f"variables.containers.all(c, (!has(c.envFrom) || c.envFrom.all(f, "
                f"!has(f.secretRef) || {_foreign_bus('f.secretRef.name')})) && "
                "(!has(c.env) || c.env.all(e, !has(e.valueFrom) || "
                "!has(e.valueFrom.secretKeyRef) || "
                f"{_foreign_bus('e.valueFrom.secretKeyRef.name')}))) && "
                "(!has(variables.pod.volumes) || variables.pod.volumes.all(v, "
                f"(!has(v.secret) || {_foreign_bus('v.secret.secretName')}) && "
                "(!has(v.projected) || v.projected.sources.all(s, "
                f"!has(s.secret) || {_foreign_bus('s.secret.name')})))))"
            ),
            "message": (
                f"pods the deployer creates may read only their own bus login: "
                f"{names.BUS_SECRET_PREFIX}<service> where the pod template's {APP_LABEL} is "
                "<service>"
            ),
        },
    ]


def _foreign_bus(secret_name: str) -> str:
    """CEL: ``secret_name`` is not a bus login, or it is this pod template's own."""
    return (
        f"(!{secret_name}.startsWith('{names.BUS_SECRET_PREFIX}') || "
        f"{secret_name} == variables.ownBusSecret)"
    )


def guard_policy() -> Manifest:
    resource_rules = [
        {
            "apiGroups": [""],
            "apiVersions": ["v1"],
            "resources": ["configmaps", "pods"],
            "operations": ["CREATE", "UPDATE", "DELETE"],
        },
        {
            "apiGroups": ["apps"],
            "apiVersions": ["v1"],
            "resources": ["deployments", "statefulsets", "daemonsets", "replicasets"],
            "operations": ["CREATE", "UPDATE"],
        },
        {
            "apiGroups": ["batch"],
            "apiVersions": ["v1"],
            "resources": ["jobs", "cronjobs"],
            "operations": ["CREATE", "UPDATE"],
        },
    ]
    meta = metadata(GUARD, NS, COMPONENT)
    del meta["namespace"]  # cluster-scoped
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": meta,
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": resource_rules},
            "matchConditions": [
                {
                    "name": "is-the-deployer",
                    "expression": f"request.userInfo.username == '{USERNAME}'",
                }
            ],
            "variables": [
                {"name": "pod", "expression": _POD},
                {"name": "containers", "expression": _CONTAINERS},
                {"name": "podMetadata", "expression": _POD_METADATA},
                {"name": "ownBusSecret", "expression": _OWN_BUS_SECRET},
            ],
            "validations": guard_validations(),
        },
    }


def guard_binding() -> Manifest:
    meta = metadata(GUARD, NS, COMPONENT)
    del meta["namespace"]
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": meta,
        "spec": {"policyName": GUARD, "validationActions": ["Deny"]},
    }


def deployer_manifests() -> list[Manifest]:
    return [
        guard_policy(),
        guard_binding(),
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
            "subjects": [
                {
                    "kind": "ServiceAccount",
                    "name": names.DEPLOY_AGENT,
                    "namespace": names.NAMESPACE_DEPLOY,
                }
            ],
        },
    ]
