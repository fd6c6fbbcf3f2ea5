"""The delivery workflow: what a push runs, with which identity, and which scripts it calls."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from unrip_platform import names
from unrip_platform.delivery import checks

pytestmark = pytest.mark.platform

WORKFLOW_PATH = checks.WORKFLOWS / "delivery.yml"
WORKFLOW: dict[Any, Any] = yaml.safe_load(WORKFLOW_PATH.read_text())
JOBS: dict[str, Any] = WORKFLOW["jobs"]


def run_of(job: str, name_part: str) -> str:
    (step,) = [s for s in JOBS[job]["steps"] if name_part in s["name"]]
    return str(step["run"])


def test_every_push_and_pull_request_runs_the_test_command() -> None:
    triggers = WORKFLOW[True]  # YAML 1.1 reads the `on` key as true
    assert set(triggers) == {"push", "pull_request"}
    assert triggers["push"]["branches"] == ["**"]
    assert "if" not in JOBS["test"]
    assert run_of("test", "Test") == "ci/test.sh"
    test_script = (checks.ROOT / "ci" / "test.sh").read_text()
    assert "exec .ci/run" in test_script  # the repository's one test command


def test_only_a_push_to_main_builds_and_deploys_after_the_tests() -> None:
    assert JOBS["build"]["needs"] == "test"
    assert JOBS["build"]["if"] == "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    assert JOBS["deploy"]["needs"] == "build"


def test_jobs_run_on_the_clusters_runner_with_run_steps_only() -> None:
    for name, job in JOBS.items():
        assert job["runs-on"] == names.FORGEJO_RUNNER_LABEL, name
        for step in job["steps"]:
            assert "uses" not in step and "run" in step, (name, step.get("name"))


def test_every_job_checks_out_the_same_way() -> None:
    checkouts = [job["steps"][0] for job in JOBS.values()]
    assert all(step == checkouts[0] for step in checkouts)
    assert checkouts[0]["name"] == "Check out the commit"
    assert 'git checkout -q --force --detach "$GITHUB_SHA"' in checkouts[0]["run"]


def test_secrets_are_the_ones_the_bootstrap_creates() -> None:
    used = set(re.findall(r"secrets\.([A-Z0-9_]+)", WORKFLOW_PATH.read_text()))
    created = {
        names.ACTIONS_SECRET_DEPLOYER_TOKEN,
        names.ACTIONS_SECRET_DEPLOYER_CA,
        names.ACTIONS_SECRET_REGISTRY_USER,
        names.ACTIONS_SECRET_REGISTRY_PASSWORD,
    }
    assert used == created | {"GITHUB_TOKEN"}  # plus the job's own token, for the checkout
    deploy_env = next(s for s in JOBS["deploy"]["steps"] if "Deploy" in s["name"])["env"]
    assert (
        deploy_env["UNRIP_DEPLOYER_TOKEN"]
        == f"${{{{ secrets.{names.ACTIONS_SECRET_DEPLOYER_TOKEN} }}}}"
    )
    assert (
        deploy_env["UNRIP_DEPLOYER_CA_CRT"]
        == f"${{{{ secrets.{names.ACTIONS_SECRET_DEPLOYER_CA} }}}}"
    )


def test_the_built_digest_is_what_gets_deployed() -> None:
    (build,) = [s for s in JOBS["build"]["steps"] if s.get("id") == "build"]
    assert build["run"] == 'python3 ci/build.py --revision "$GITHUB_SHA"'
    assert JOBS["build"]["outputs"]["image"] == "${{ steps.build.outputs.image }}"
    step = next(s for s in JOBS["deploy"]["steps"] if "Deploy" in s["name"])
    assert step["env"]["IMAGE"] == "${{ needs.build.outputs.image }}"
    command = step["run"].split()
    assert command[1] == names.DEPLOY_SCRIPT
    assert command[command.index("--image") + 1] == '"$IMAGE"'
    assert command[command.index("--overlay") + 1] == names.OVERLAY_PRODUCTION
    # The job outlives a failed rollout plus the rollback's own wait.
    timeout_s = float(command[command.index("--timeout") + 1])
    assert JOBS["deploy"]["timeout-minutes"] * 60 > 2 * timeout_s


def test_the_pinned_kubectl_suits_the_clusters_version() -> None:
    script = (checks.ROOT / "ci" / "install-kubectl.sh").read_text()
    version = re.search(r"^version=v(\d+)\.(\d+)\.\d+$", script, re.MULTILINE)
    assert version is not None
    assert re.search(r"^sha256=[0-9a-f]{64}\b", script, re.MULTILINE)
    cluster_major, cluster_minor = map(int, names.KUBERNETES_MINOR.split("."))
    assert int(version[1]) == cluster_major
    assert abs(int(version[2]) - cluster_minor) <= 1  # kubectl's supported version skew
