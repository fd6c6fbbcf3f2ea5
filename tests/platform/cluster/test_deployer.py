"""The deploy identity holds least privilege (issue 14): what its Role grants, what the admission
policy refuses it, and that the deploy script leaves the rest to the operator."""

from __future__ import annotations

from typing import Any

import pytest
from unrip_platform import names
from unrip_platform.cluster import deployer

pytestmark = pytest.mark.platform

WRITES = {"create", "update", "patch", "delete", "deletecollection", "*", "escalate", "bind"}
FORBIDDEN_WRITES = {
    ("", "secrets"),
    ("", "serviceaccounts"),
    ("", "serviceaccounts/token"),
    ("", "pods"),
    ("", "pods/exec"),
    ("", "pods/ephemeralcontainers"),
    ("networking.k8s.io", "networkpolicies"),
    ("rbac.authorization.k8s.io", "roles"),
    ("rbac.authorization.k8s.io", "rolebindings"),
    ("rbac.authorization.k8s.io", "clusterroles"),
    ("rbac.authorization.k8s.io", "clusterrolebindings"),
    ("admissionregistration.k8s.io", "validatingadmissionpolicies"),
    ("admissionregistration.k8s.io", "validatingadmissionpolicybindings"),
}


def by_kind(kind: str) -> dict[str, Any]:
    (manifest,) = [m for m in deployer.deployer_manifests() if m["kind"] == kind]
    return manifest


def granted() -> set[tuple[str, str, str]]:
    return {
        (group, resource, verb)
        for rule in by_kind("Role")["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def test_the_deployer_role_writes_no_rbac_policy_service_account_secret_or_pod() -> None:
    writes = {(group, resource) for group, resource, verb in granted() if verb in WRITES}
    assert writes & FORBIDDEN_WRITES == set()
    assert not any("*" in (group, resource) for group, resource, _ in granted())


def test_the_deployer_role_reads_no_secret_and_stays_in_its_namespace() -> None:
    assert not any(resource == "secrets" for _, resource, _ in granted())
    role = by_kind("Role")
    assert role["metadata"]["namespace"] == names.NAMESPACE_APPS
    kinds = {m["kind"] for m in deployer.deployer_manifests()}
    assert kinds.isdisjoint({"ClusterRole", "ClusterRoleBinding"})


def test_the_guard_applies_to_the_deployer_only_and_denies() -> None:
    policy = by_kind("ValidatingAdmissionPolicy")
    binding = by_kind("ValidatingAdmissionPolicyBinding")
    assert binding["spec"] == {"policyName": deployer.GUARD, "validationActions": ["Deny"]}
    assert policy["spec"]["failurePolicy"] == "Fail"
    [condition] = policy["spec"]["matchConditions"]
    assert condition["expression"] == (
        f"request.userInfo.username == 'system:serviceaccount:{names.NAMESPACE_DEPLOY}:"
        f"{names.DEPLOY_AGENT}'"
    )
    matched = {
        (rule["apiGroups"][0], resource)
        for rule in policy["spec"]["matchConstraints"]["resourceRules"]
        for resource in rule["resources"]
    }
    assert {
        ("", "configmaps"),
        ("", "pods"),
        ("apps", "deployments"),
        ("apps", "statefulsets"),
        ("batch", "jobs"),
        ("batch", "cronjobs"),
    } <= matched


def test_the_guard_names_the_strategy_and_every_path_to_the_venue_key() -> None:
    expressions = [v["expression"] for v in deployer.guard_validations()]
    strategy, volumes, env, _bus_logins = expressions  # evaluated: test_deployer_guard.py
    assert f"'{names.REACTOR_STRATEGY_CONFIGMAP}'" in strategy
    assert "oldObject" in strategy  # a delete is a change too
    venue = f"'{names.APPS_SECRET_NEAR_INTENTS}'"
    assert "v.secret.secretName != " + venue in volumes
    assert "s.secret.name != " + venue in volumes  # projected volumes
    assert "f.secretRef.name != " + venue in env  # envFrom
    assert f"e.valueFrom.secretKeyRef.key in ['{names.APPS_SECRET_NEAR_INTENTS_JWT_KEY}']" in env
    assert names.APPS_SECRET_NEAR_INTENTS_SIGNING_KEY_KEY not in deployer.READABLE_VENUE_KEYS
    assert "initContainers" in deployer._CONTAINERS
