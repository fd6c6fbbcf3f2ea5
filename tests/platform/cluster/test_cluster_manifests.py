"""Every rendered manifest is valid Kubernetes, and the pods follow the hardening baseline."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from unrip_platform import names
from unrip_platform.validation import KUBERNETES_VERSION, validate_manifests

pytestmark = pytest.mark.platform

# The one container allowed to deviate (rootless BuildKit); policy_exceptions.yaml says why.
BUILDKIT = ("buildkitd", "buildkitd")
CLUSTER_SCOPED = {
    "Namespace",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "ClusterRole",
    "ClusterRoleBinding",
}


def pod_specs(manifests: list[dict[str, Any]]) -> Iterator[tuple[str, dict[str, Any]]]:
    for manifest in manifests:
        spec = manifest.get("spec", {})
        template = spec.get("template", {}).get("spec")
        if template is not None:
            yield manifest["metadata"]["name"], template


def containers(manifests: list[dict[str, Any]]) -> Iterator[tuple[str, str, dict[str, Any], bool]]:
    for workload, pod in pod_specs(manifests):
        for container in pod.get("initContainers", []):
            yield workload, container["name"], container, True
        for container in pod["containers"]:
            yield workload, container["name"], container, False


def test_every_manifest_validates_strictly(manifests: list[dict[str, Any]]) -> None:
    problems = validate_manifests(manifests)
    assert not problems, "\n".join(str(p) for p in problems)


def test_the_validator_rejects_a_misspelt_field(manifests: list[dict[str, Any]]) -> None:
    statefulset = next(m for m in manifests if m["kind"] == "StatefulSet")
    misspelt = {**statefulset, "spec": {**statefulset["spec"], "replica": 2}}
    [problem] = validate_manifests([misspelt], version=KUBERNETES_VERSION)
    assert "replica" in problem.message


def test_unknown_kinds_must_be_declared() -> None:
    route = {"apiVersion": "traefik.io/v1alpha1", "kind": "IngressRoute", "metadata": {"name": "x"}}
    assert validate_manifests([route])
    assert (
        validate_manifests([route], known_custom_kinds={("traefik.io/v1alpha1", "IngressRoute")})
        == []
    )


def test_names_are_unique_per_kind_and_namespace(manifests: list[dict[str, Any]]) -> None:
    keys = [(m["kind"], m["metadata"].get("namespace"), m["metadata"]["name"]) for m in manifests]
    assert len(keys) == len(set(keys))


def test_pods_run_as_non_root_without_a_kubernetes_token(manifests: list[dict[str, Any]]) -> None:
    for workload, pod in pod_specs(manifests):
        context = pod["securityContext"]
        assert context["runAsNonRoot"] is True, workload
        assert context["runAsUser"] > 0, workload
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}, workload
        assert pod["automountServiceAccountToken"] is False, workload


def test_containers_follow_the_baseline(manifests: list[dict[str, Any]]) -> None:
    checked = 0
    for workload, name, container, is_init in containers(manifests):
        limits = container["resources"]
        assert {"cpu", "memory"} <= limits["requests"].keys(), (workload, name)
        assert {"cpu", "memory"} <= limits["limits"].keys(), (workload, name)
        if (workload, name) == BUILDKIT:
            continue
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False, (workload, name)
        assert context["readOnlyRootFilesystem"] is True, (workload, name)
        assert context["capabilities"] == {"drop": ["ALL"]}, (workload, name)
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}, (workload, name)
        # Jobs (topics, bus access) run to completion: nothing to probe.
        if not is_init and not workload.startswith(("redpanda-topics-", "redpanda-bus-access-")):
            assert "livenessProbe" in container and "readinessProbe" in container, (workload, name)
        checked += 1
    assert checked >= 10


def test_only_buildkit_deviates_and_never_privileged(manifests: list[dict[str, Any]]) -> None:
    deviating = {
        (workload, name)
        for workload, name, container, _ in containers(manifests)
        if container["securityContext"].get("allowPrivilegeEscalation") is not False
    }
    assert deviating == {BUILDKIT}
    for _, _, container, _ in containers(manifests):
        assert container["securityContext"].get("privileged") is False
        assert container["securityContext"]["runAsNonRoot"] is True


def test_stateful_components_keep_their_data(manifests: list[dict[str, Any]]) -> None:
    by_name = {(m["kind"], m["metadata"]["name"]): m for m in manifests}
    redpanda = by_name[("StatefulSet", "redpanda")]["spec"]
    [claim] = redpanda["volumeClaimTemplates"]
    assert claim["spec"]["storageClassName"] == "local-path"
    forgejo = by_name[("Deployment", "forgejo")]["spec"]
    assert forgejo["strategy"] == {"type": "Recreate"}
    volumes = {v["name"]: v for v in forgejo["template"]["spec"]["volumes"]}
    assert volumes["data"]["persistentVolumeClaim"]["claimName"] == "forgejo-data"


def test_redpanda_runs_in_production_mode(manifests: list[dict[str, Any]]) -> None:
    statefulset = next(m for m in manifests if m["kind"] == "StatefulSet")
    [container] = statefulset["spec"]["template"]["spec"]["containers"]
    args = " ".join(container["args"])
    assert "dev-container" not in args and "unsafe-bypass-fsync" not in args
    config = next(
        m for m in manifests if m["kind"] == "ConfigMap" and m["metadata"]["name"] == "redpanda"
    )
    assert "developer_mode: false" in config["data"]["redpanda.yaml"]
    assert "unsafe_bypass_fsync: false" in config["data"][".bootstrap.yaml"]
    assert "auto_create_topics_enabled: false" in config["data"][".bootstrap.yaml"]


def test_registry_nodeport_and_services_match_the_shared_names(
    manifests: list[dict[str, Any]],
) -> None:
    services = {m["metadata"]["name"]: m for m in manifests if m["kind"] == "Service"}
    assert services[names.REDPANDA_SERVICE]["spec"]["ports"][0]["port"] == names.REDPANDA_KAFKA_PORT
    assert services[names.FORGEJO_SERVICE]["spec"]["ports"][0]["port"] == names.FORGEJO_HTTP_PORT
    node_ports = [
        port["nodePort"]
        for service in services.values()
        for port in service["spec"]["ports"]
        if "nodePort" in port
    ]
    assert node_ports == [names.FORGEJO_REGISTRY_NODEPORT]
    assert all(
        m["metadata"]["namespace"]
        in (names.NAMESPACE_PLATFORM, names.NAMESPACE_APPS, names.NAMESPACE_DEPLOY)
        for m in manifests
        if m["kind"] not in CLUSTER_SCOPED
    )


def test_every_namespace_denies_by_default(manifests: list[dict[str, Any]]) -> None:
    namespaces = {m["metadata"]["name"] for m in manifests if m["kind"] == "Namespace"}
    denied = {
        m["metadata"]["namespace"]
        for m in manifests
        if m["kind"] == "NetworkPolicy"
        and m["spec"]["podSelector"] == {}
        and set(m["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        and "ingress" not in m["spec"]
        and "egress" not in m["spec"]
    }
    assert (
        namespaces
        == denied
        == {
            names.NAMESPACE_PLATFORM,
            names.NAMESPACE_APPS,
            names.NAMESPACE_DEPLOY,
        }
    )


def test_apps_may_reach_kafka_but_not_forgejo(manifests: list[dict[str, Any]]) -> None:
    apps_egress = [
        rule
        for m in manifests
        if m["kind"] == "NetworkPolicy" and m["metadata"]["namespace"] == names.NAMESPACE_APPS
        for rule in m["spec"].get("egress", [])
    ]
    ports = {port["port"] for rule in apps_egress for port in rule.get("ports", [])}
    assert names.REDPANDA_KAFKA_PORT in ports
    assert names.FORGEJO_HTTP_PORT not in ports
    public = [peer["ipBlock"] for rule in apps_egress for peer in rule["to"] if "ipBlock" in peer]
    assert public and all("10.0.0.0/8" in block["except"] for block in public)


def test_inline_scripts_are_valid_shell(manifests: list[dict[str, Any]]) -> None:
    scripts = [
        (workload, name, container["command"])
        for workload, name, container, _ in containers(manifests)
        if container.get("command", [])[:1] in (["/bin/sh"], ["/bin/bash"])
        and "-c" in container["command"]
    ]
    assert len(scripts) >= 3
    for workload, name, command in scripts:
        shell, _, script = command
        result = subprocess.run(
            [shell.rsplit("/", 1)[-1], "-n", "-c", script], capture_output=True, text=True
        )
        assert result.returncode == 0, (workload, name, result.stderr)
