"""ci/deploy.py run as a process, exactly as the workflow and the bootstrap run it.

The cluster is ``fake_kubectl.py`` behind the kubectl command line (the only interface the
script uses); rendering goes to the real ``kubectl kustomize``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from unrip_platform import names
from unrip_platform.delivery import checks

pytestmark = pytest.mark.platform

TOKEN = "deployer-token-7f3a9c"
CA = "-----BEGIN CERTIFICATE-----\nMIIBfakeCA\n-----END CERTIFICATE-----"
WORKLOADS = {
    "deployment/ingest",
    "deployment/ingest-prices",
    "deployment/reactor",
    "deployment/executor",
    "deployment/monitor",
    "statefulset/paper-venue",
    "deployment/archiver",
}


def image(char: str) -> str:
    return f"{names.IMAGE_REPOSITORY}@sha256:{char * 64}"


@dataclass
class Result:
    code: int
    output: str


@dataclass
class Cluster:
    """The fake cluster's state file and a way to run the deploy against it."""

    directory: Path
    kubectl: Path

    @property
    def state_file(self) -> Path:
        return self.directory / "state.json"

    def state(self) -> dict[str, Any]:
        if not self.state_file.exists():
            return {}
        loaded: dict[str, Any] = json.loads(self.state_file.read_text())
        return loaded

    def update(self, **changes: Any) -> None:
        state = self.state()
        state.update(changes)
        self.state_file.write_text(json.dumps(state))

    def calls(self, *prefix: str) -> list[list[str]]:
        return [
            c["argv"]
            for c in self.state().get("calls", [])
            if c["argv"][: len(prefix)] == list(prefix)
        ]

    def deploy(self, *args: str, env: dict[str, str] | None = None) -> Result:
        environment = {
            "PATH": os.environ["PATH"],
            "HOME": str(self.directory),
            "UNRIP_KUBECTL": str(self.kubectl),
            "FAKE_KUBECTL_STATE": str(self.state_file),
            "FAKE_KUBECTL_REAL": str(shutil.which("kubectl")),
            "UNRIP_DEPLOYER_TOKEN": TOKEN,
            "UNRIP_DEPLOYER_CA_CRT": CA,
            **(env or {}),
        }
        result = subprocess.run(
            [sys.executable, str(checks.DEPLOY_SCRIPT), *args],
            capture_output=True,
            text=True,
            env=environment,
            timeout=120,
        )
        return Result(result.returncode, result.stdout + result.stderr)

    def images(self) -> dict[str, set[str]]:
        """The image of every workload's current pod template."""
        found = {}
        for workload in self.state()["workloads"].values():
            template = workload["history"][str(workload["revision"])]
            found[workload["name"]] = {c["image"] for c in template["spec"]["containers"]}
        return found

    def revisions(self) -> dict[str, int]:
        return {w["name"]: w["revision"] for w in self.state()["workloads"].values()}


@pytest.fixture
def cluster(tmp_path: Path) -> Cluster:
    shim = tmp_path / "kubectl"
    fake = Path(__file__).with_name("fake_kubectl.py")
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{fake}" "$@"\n')
    shim.chmod(0o755)
    return Cluster(tmp_path, shim)


def production(char: str, *extra: str) -> tuple[str, ...]:
    return (
        "--image",
        image(char),
        "--overlay",
        names.OVERLAY_PRODUCTION,
        "--timeout",
        "30",
        *extra,
    )


def test_a_deploy_applies_the_pinned_image_and_waits_for_every_rollout(cluster: Cluster) -> None:
    result = cluster.deploy(*production("a"))
    assert result.code == 0, result.output
    assert set(cluster.images()) == {w.split("/")[1] for w in WORKLOADS}
    assert all(found == {image("a")} for found in cluster.images().values())
    waited = {call[2] for call in cluster.calls("rollout", "status")}
    assert waited == WORKLOADS
    apply = cluster.calls("apply")[0]
    assert "--server-side" in apply and "--field-manager=unrip-deploy" in apply
    assert f"{len(WORKLOADS)} workloads rolled out" in result.output


def test_the_deployer_token_reaches_kubectl_only_through_a_private_kubeconfig(
    cluster: Cluster,
) -> None:
    result = cluster.deploy(*production("a"))
    assert result.code == 0
    assert TOKEN not in result.output
    calls = cluster.state()["calls"]
    assert all(TOKEN not in " ".join(call["argv"]) for call in calls)
    config = yaml.safe_load(calls[0]["kubeconfig"])
    assert config["users"][0]["user"]["token"] == TOKEN
    assert config["clusters"][0]["cluster"]["server"] == names.KUBE_API_IN_CLUSTER
    assert "certificate-authority-data" in config["clusters"][0]["cluster"]
    assert {call["kubeconfig_mode"] for call in calls} == {"0o600"}
    assert not Path(calls[0]["kubeconfig_path"]).exists()  # removed when the deploy ends


def test_without_a_token_kubectls_own_configuration_is_used(cluster: Cluster) -> None:
    own = cluster.directory / "my-kubeconfig"
    own.write_text("apiVersion: v1\nkind: Config\n")
    result = cluster.deploy(
        *production("a"), env={"UNRIP_DEPLOYER_TOKEN": "", "KUBECONFIG": str(own)}
    )
    assert result.code == 0, result.output
    assert {call["kubeconfig_path"] for call in cluster.state()["calls"]} == {str(own)}


def test_redeploying_the_same_image_changes_no_revision(cluster: Cluster) -> None:
    assert cluster.deploy(*production("a")).code == 0
    first = cluster.revisions()
    assert cluster.deploy(*production("a")).code == 0
    assert cluster.revisions() == first


def test_a_failed_rollout_is_rolled_back_to_the_previous_revision(cluster: Cluster) -> None:
    assert cluster.deploy(*production("a")).code == 0
    before = cluster.revisions()
    cluster.update(broken_images=[image("b")])
    result = cluster.deploy(*production("b"))
    assert result.code == 1, result.output
    undone = {call[2]: call[-1] for call in cluster.calls("rollout", "undo")}
    assert undone == {ref: f"--to-revision={before[ref.split('/')[1]]}" for ref in WORKLOADS}
    assert all(found == {image("a")} for found in cluster.images().values())
    assert f"deploy of {image('b')} FAILED; rolled back:" in result.output
    assert "exceeded its progress deadline" in result.output  # the reason, from kubectl


def test_only_workloads_the_deploy_changed_are_rolled_back(cluster: Cluster) -> None:
    assert cluster.deploy(*production("a")).code == 0
    # The StatefulSet's apply is refused, so the paper venue keeps its template and revision:
    # the rollback undoes the four Deployments and leaves it alone.
    cluster.update(forbidden_kinds=["StatefulSet"], broken_images=[image("b")])
    result = cluster.deploy(*production("b"))
    assert result.code == 1, result.output
    undone = {call[2] for call in cluster.calls("rollout", "undo")}
    assert undone == WORKLOADS - {"statefulset/paper-venue"}
    assert "Forbidden" in result.output


def test_a_failed_rollback_says_so_and_exits_3(cluster: Cluster) -> None:
    assert cluster.deploy(*production("a")).code == 0
    cluster.update(broken_images=[image("b")], undo_fails=True)
    result = cluster.deploy(*production("b"))
    assert result.code == 3
    assert "ROLLBACK PROBLEM" in result.output and "Rolling back by hand" in result.output


def test_a_failed_first_deploy_has_nothing_to_roll_back_to(cluster: Cluster) -> None:
    cluster.update(broken_images=[image("b")])
    result = cluster.deploy(*production("b"))
    assert result.code == 3
    assert "created by this deploy, nothing to roll back to" in result.output


def test_the_deployers_deploy_leaves_rbac_policies_and_the_strategy_to_the_operator(
    cluster: Cluster,
) -> None:
    result = cluster.deploy(*production("a"))

    assert result.code == 0, result.output
    kinds = {key.split("/")[0] for key in cluster.state()["objects"]}
    assert kinds.isdisjoint({"ServiceAccount", "Role", "RoleBinding", "NetworkPolicy"}), kinds
    strategy = f"ConfigMap/{names.NAMESPACE_APPS}/{names.REACTOR_STRATEGY_CONFIGMAP}"
    assert strategy not in cluster.state()["objects"]
    assert (
        "left to the operator (apply with --operator): "
        f"configmap/{names.REACTOR_STRATEGY_CONFIGMAP}" in result.output
    )
    assert cluster.images() and all(found == {image("a")} for found in cluster.images().values())


def strategy_in_cluster(cluster: Cluster) -> dict[str, Any]:
    objects = cluster.state()["objects"]
    config_map = objects[f"ConfigMap/{names.NAMESPACE_APPS}/{names.REACTOR_STRATEGY_CONFIGMAP}"]
    loaded: dict[str, Any] = yaml.safe_load(config_map["data"][names.REACTOR_STRATEGY_KEY])
    return loaded


def test_a_deploy_never_turns_a_live_kill_switch_off_unasked(cluster: Cluster) -> None:
    assert cluster.deploy(*production("a", "--operator")).code == 0
    state = cluster.state()
    key = f"ConfigMap/{names.NAMESPACE_APPS}/{names.REACTOR_STRATEGY_CONFIGMAP}"
    data = state["objects"][key]["data"]
    data[names.REACTOR_STRATEGY_KEY] = data[names.REACTOR_STRATEGY_KEY].replace(
        "kill_switch: false", "kill_switch: true"
    )  # the operator's emergency `kubectl apply`
    cluster.state_file.write_text(json.dumps(state))

    result = cluster.deploy(*production("b", "--operator"))
    assert result.code == 0, result.output
    assert strategy_in_cluster(cluster)["limits"]["kill_switch"] is True
    assert "kill switch is on" in result.output
    assert all(found == {image("b")} for found in cluster.images().values())  # the rest deployed

    result = cluster.deploy(*production("b", "--operator", "--release-kill-switch"))
    assert result.code == 0, result.output
    assert strategy_in_cluster(cluster)["limits"]["kill_switch"] is False


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--image", names.IMAGE_REPOSITORY), "give the image by digest"),
        (("--image", f"{names.IMAGE_REPOSITORY}:v1"), "deploys pin images by digest"),
        (("--image", f"{names.IMAGE_REPOSITORY}@sha256:abc"), "expected <repository>@sha256"),
    ],
)
def test_an_image_that_is_not_a_digest_is_refused_before_any_change(
    cluster: Cluster, args: tuple[str, ...], message: str
) -> None:
    result = cluster.deploy(*args, "--overlay", names.OVERLAY_PRODUCTION)
    assert result.code == 2 and message in result.output
    assert cluster.state().get("calls") is None  # kubectl never ran


def test_a_token_without_its_ca_is_refused_without_printing_it(cluster: Cluster) -> None:
    result = cluster.deploy(*production("a"), env={"UNRIP_DEPLOYER_CA_CRT": ""})
    assert result.code == 2 and "UNRIP_DEPLOYER_CA_CRT" in result.output
    assert TOKEN not in result.output
    assert cluster.state().get("calls") is None


def test_render_only_prints_what_would_be_applied_and_touches_no_cluster(
    cluster: Cluster,
) -> None:
    result = subprocess.run(
        [sys.executable, str(checks.DEPLOY_SCRIPT), *production("c"), "--render-only"],
        capture_output=True,
        text=True,
        check=True,
        env={
            **os.environ,
            "UNRIP_KUBECTL": str(cluster.kubectl),
            "FAKE_KUBECTL_STATE": str(cluster.state_file),
            "FAKE_KUBECTL_REAL": str(shutil.which("kubectl")),
        },
    )
    documents = [d for d in yaml.safe_load_all(result.stdout) if d]
    assert {d["kind"] for d in documents} >= {"Deployment", "StatefulSet", "NetworkPolicy"}
    assert image("c") in result.stdout
    assert cluster.state().get("calls") is None
