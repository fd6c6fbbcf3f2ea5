"""CI trust is split (issue 14): untrusted jobs hold nothing, and only the deploy agent rolls out.

The runner takes jobs of any branch and pull request, so its pod must hold no credential, no
build service and no path to the API server, and be registered to the one repository. The
deploy agent holds the rollout's credentials: its pod is checked for who it runs as, what it
mounts and where it may connect.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from unrip_platform import names
from unrip_platform.cluster import agent, forgejo, runner
from unrip_platform.cluster.settings import JOB_IMAGE, ClusterSettings
from unrip_platform.validation.egress import METADATA_ADDRESS, grants

pytestmark = pytest.mark.platform

ROOT = Path(__file__).resolve().parents[3]
SERVER = ClusterSettings().network.api_server_ip
Manifest = dict[str, Any]


def find(manifests: list[Manifest], kind: str, namespace: str, name: str) -> Manifest:
    [found] = [
        m
        for m in manifests
        if m["kind"] == kind
        and m["metadata"].get("namespace") == namespace
        and m["metadata"]["name"] == name
    ]
    return found


def pod(manifests: list[Manifest], namespace: str, name: str) -> dict[str, Any]:
    spec: dict[str, Any] = find(manifests, "Deployment", namespace, name)["spec"]["template"][
        "spec"
    ]
    return spec


def all_containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*spec.get("initContainers", []), *spec["containers"]]


def selecting(manifests: list[Manifest], namespace: str, app: str) -> list[Manifest]:
    """The NetworkPolicies that apply to the pods of ``app``."""
    return [
        m
        for m in manifests
        if m["kind"] == "NetworkPolicy"
        and m["metadata"]["namespace"] == namespace
        and m["spec"]["podSelector"].get("matchLabels", {}).get("app.kubernetes.io/name", app)
        == app
    ]


# --- the runner: untrusted jobs -------------------------------------------------------------------


def test_the_runner_is_registered_to_the_repository_not_the_instance(
    manifests: list[Manifest],
) -> None:
    spec = pod(manifests, names.NAMESPACE_PLATFORM, "forgejo")
    scripts = [" ".join(c.get("command", [])) for c in all_containers(spec)]
    registrations = [s for s in scripts if "actions register" in s]
    assert len(registrations) == 1
    assert f"--scope {names.FORGEJO_ORG}/{names.FORGEJO_REPO} " in registrations[0]
    # Retried until the bootstrap created the repository, beside the server (a native sidecar).
    [sidecar] = [c for c in spec["initContainers"] if "actions register" in " ".join(c["command"])]
    assert sidecar["restartPolicy"] == "Always"
    assert "until forgejo forgejo-cli actions register" in sidecar["command"][-1]


def test_each_ci_job_gets_a_fresh_home_and_workdir_and_no_leftovers(
    manifests: list[Manifest], settings: ClusterSettings
) -> None:
    spec = pod(manifests, names.NAMESPACE_PLATFORM, "forgejo-runner")
    [job_runner] = [c for c in spec["containers"] if c["name"] == "runner"]
    loop = job_runner["command"][-1]
    assert "forgejo-runner one-job" in loop and "daemon" not in loop
    lines = loop.splitlines()
    wipe = next(i for i, line in enumerate(lines) if f"rm -rf {runner.JOB_DIR}" in line)
    job = next(i for i, line in enumerate(lines) if "one-job" in line)
    kill = next(i for i, line in enumerate(lines) if "kill -KILL -1" in line)
    assert wipe < job < kill  # a new home before each job, its processes gone after it
    assert f"HOME={runner.JOB_HOME} " in lines[job]
    env = {e["name"]: e["value"] for e in job_runner["env"]}
    assert env["HOME"].startswith(runner.JOB_DIR + "/")
    config = runner.runner_config(settings)
    assert config["host"]["workdir_parent"].startswith(runner.JOB_DIR + "/")
    assert config["cache"] == {"enabled": False}  # no cache shared between branches


def test_the_runner_pod_has_no_socket_host_path_token_credential_or_build_service(
    manifests: list[Manifest],
) -> None:
    spec = pod(manifests, names.NAMESPACE_PLATFORM, "forgejo-runner")
    text = yaml.safe_dump(spec)
    assert "docker.sock" not in text and "hostPath" not in text
    assert spec["automountServiceAccountToken"] is False
    assert {c["name"] for c in spec["containers"]} == {"runner", "registry-proxy"}
    assert not any(c["image"] == ClusterSettings().images.buildkit for c in all_containers(spec))
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert all("emptyDir" in v for n, v in volumes.items() if n not in ("config", "runner-secret"))
    for container in all_containers(spec):
        env = {e["name"]: e for e in container.get("env", [])}
        assert "BUILDKIT_HOST" not in env and "UNRIP_REGISTRY_PUSH" not in env
        assert not any("valueFrom" in e for e in env.values()), container["name"]
        mounted = {m["name"] for m in container.get("volumeMounts", [])}
        # The runner's own secret reaches the registration init container only.
        assert ("runner-secret" in mounted) == (container["name"] == "register")
    assert set(runner.job_environment()) == {"UNRIP_FORGEJO_URL", "UNRIP_KAFKA_BOOTSTRAP"}


def test_untrusted_jobs_reach_neither_the_api_server_nor_buildkit(
    manifests: list[Manifest],
) -> None:
    api_clients = {g.policy for g in grants(manifests, SERVER, names.KUBE_API_PORT)}
    assert "forgejo-runner" not in api_clients
    runner_policy = find(manifests, "NetworkPolicy", names.NAMESPACE_PLATFORM, "forgejo-runner")
    ports = {p["port"] for rule in runner_policy["spec"]["egress"] for p in rule["ports"]}
    assert ports == {names.FORGEJO_HTTP_PORT, 80, 443}
    buildkit = find(manifests, "NetworkPolicy", names.NAMESPACE_PLATFORM, names.BUILDKIT_SERVICE)
    [ingress] = buildkit["spec"]["ingress"]
    assert ingress["from"] == [
        {
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": names.DEPLOY_AGENT}},
            "namespaceSelector": {
                "matchLabels": {"kubernetes.io/metadata.name": names.NAMESPACE_DEPLOY}
            },
        }
    ]


# --- the deploy agent: the rollout's one identity ------------------------------------------------


def test_the_agent_is_deployed_non_root_as_the_deployer_bound_service_account(
    manifests: list[Manifest],
) -> None:
    spec = pod(manifests, names.NAMESPACE_DEPLOY, names.DEPLOY_AGENT)
    assert spec["serviceAccountName"] == names.DEPLOY_AGENT
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] > 10000
    for container in all_containers(spec):
        context = container["securityContext"]
        assert context["readOnlyRootFilesystem"] is True, container["name"]
        assert context["allowPrivilegeEscalation"] is False, container["name"]
        assert container["resources"]["limits"].keys() >= {"cpu", "memory"}
    binding = find(manifests, "RoleBinding", names.NAMESPACE_APPS, names.DEPLOYER_ROLE)
    assert binding["roleRef"]["name"] == names.DEPLOYER_ROLE
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": names.DEPLOY_AGENT, "namespace": names.NAMESPACE_DEPLOY}
    ]
    namespace = find(manifests, "Namespace", None, names.NAMESPACE_DEPLOY)  # type: ignore[arg-type]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_only_the_agent_container_holds_the_cluster_token_and_it_expires(
    manifests: list[Manifest],
) -> None:
    spec = pod(manifests, names.NAMESPACE_DEPLOY, names.DEPLOY_AGENT)
    assert spec["automountServiceAccountToken"] is False
    holders = [
        c["name"]
        for c in all_containers(spec)
        if any(m["name"] == "kube-api-access" for m in c.get("volumeMounts", []))
    ]
    assert holders == ["agent"]
    [volume] = [v for v in spec["volumes"] if v["name"] == "kube-api-access"]
    [token] = [
        s["serviceAccountToken"]
        for s in volume["projected"]["sources"]
        if "serviceAccountToken" in s
    ]
    assert token["expirationSeconds"] <= 3600
    # No long-lived token Secret exists for anyone to copy into a workflow.
    assert not [m for m in manifests if m.get("type") == "kubernetes.io/service-account-token"]


def test_the_agents_network_reaches_forgejo_buildkit_and_the_api_server_only(
    manifests: list[Manifest],
) -> None:
    own = selecting(manifests, names.NAMESPACE_DEPLOY, names.DEPLOY_AGENT)
    assert {p["metadata"]["name"] for p in own} == {"default-deny", "allow-dns", "deploy-agent"}
    for port in (22, 80, 443, names.KUBE_API_PORT, 10250):
        assert grants(own, METADATA_ADDRESS, port) == []
        assert grants(own, "198.51.100.7", port) == []  # no internet at all
    policy = find(manifests, "NetworkPolicy", names.NAMESPACE_DEPLOY, names.DEPLOY_AGENT)
    peers = [
        (
            peer.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name"),
            tuple(p["port"] for p in rule["ports"]),
        )
        for rule in policy["spec"]["egress"]
        for peer in rule["to"]
        if "podSelector" in peer
    ]
    assert sorted(peers) == [
        (names.BUILDKIT_SERVICE, (names.BUILDKIT_PORT,)),
        ("forgejo", (names.FORGEJO_HTTP_PORT,)),
    ]
    assert {g.policy for g in grants(own, SERVER, names.KUBE_API_PORT)} == {names.DEPLOY_AGENT}


def test_the_agents_credentials_are_files_from_the_bootstrap_secret_never_env_or_argv(
    manifests: list[Manifest],
) -> None:
    spec = pod(manifests, names.NAMESPACE_DEPLOY, names.DEPLOY_AGENT)
    [volume] = [v for v in spec["volumes"] if "secret" in v]
    assert volume["secret"]["secretName"] == names.DEPLOY_AGENT_SECRET
    for container in all_containers(spec):
        assert not any("valueFrom" in e for e in container.get("env", [])), container["name"]
    [main] = [c for c in spec["containers"] if c["name"] == "agent"]
    env = {e["name"]: e["value"] for e in main["env"]}
    # The agent reads the Secret's files before every poll (ci/agent.py CREDENTIAL_FILES).
    assert env["UNRIP_AGENT_CREDENTIALS_DIR"] == agent.CREDENTIALS_DIR
    assert {"name": "credentials", "mountPath": agent.CREDENTIALS_DIR, "readOnly": True} in main[
        "volumeMounts"
    ]
    command = main["command"]
    assert command[:2] == ["python3", f"{agent.SOURCE_DIR}/ci/agent.py"]
    assert command[command.index("--repository") + 1] == f"{names.FORGEJO_ORG}/{names.FORGEJO_REPO}"
    assert command[command.index("--overlay") + 1] == names.OVERLAY_PRODUCTION
    assert command[command.index("--forgejo") + 1] == names.FORGEJO_IN_CLUSTER_URL
    assert env["BUILDKIT_HOST"] == names.BUILDKIT_IN_CLUSTER
    # The init container reads the token from the file into git's environment, not an argv.
    script = agent.toolchain_script()
    token_file = f"{agent.CREDENTIALS_DIR}/{names.DEPLOY_AGENT_SECRET_FORGEJO_TOKEN}"
    assert f"token_file={token_file}" in script
    assert 'GIT_CONFIG_VALUE_0="Authorization: Basic $auth"' in script
    assert "git -c" not in script


def test_the_agents_tools_come_from_mains_hash_locked_files_on_its_own_image() -> None:
    dockerfile = (ROOT / "ci" / agent.TOOLS_DOCKERFILE).read_text()
    stages = re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE)
    assert stages == [JOB_IMAGE, "scratch"]  # the packages match the agent's Python
    assert "--require-hashes" in dockerfile and "-r /src/requirements.txt" in dockerfile
    assert "install-kubectl.sh" in dockerfile
    locked = (ROOT / "ci" / "requirements.txt").read_text()
    for package in ("httpx", "pyyaml"):
        assert re.search(rf"^{package}==\S+ \\\n\s+--hash=sha256:", locked, re.MULTILINE)
    script = agent.toolchain_script()
    assert f"--opt filename={agent.TOOLS_DOCKERFILE}" in script
    assert "--output type=local" in script and "refs/heads/main" in script


def test_buildkit_runs_as_its_own_service_outside_any_job_container(
    manifests: list[Manifest],
) -> None:
    spec = pod(manifests, names.NAMESPACE_PLATFORM, names.BUILDKIT_SERVICE)
    assert [c["name"] for c in spec["containers"]] == ["buildkitd", "registry-proxy"]
    assert spec["automountServiceAccountToken"] is False
    service = find(manifests, "Service", names.NAMESPACE_PLATFORM, names.BUILDKIT_SERVICE)
    assert service["spec"]["ports"][0]["port"] == names.BUILDKIT_PORT
    assert names.BUILDKIT_IN_CLUSTER.endswith(f":{names.BUILDKIT_PORT}")
    assert f"{names.FORGEJO_ORG}/{names.FORGEJO_REPO}" == forgejo.RUNNER_SCOPE
