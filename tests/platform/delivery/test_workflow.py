"""The CI workflow: every push and pull request runs the tests, and no job can reach a secret, the
registry or the cluster (issue 14: a branch controls its own workflow file)."""

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


# Names a credential or a deploy path would go by; none may appear in any job.
CREDENTIAL = re.compile(r"DEPLOYER|REGISTRY|KUBE|BUILDKIT|PASSWORD|SECRET|CA_CRT", re.IGNORECASE)
ROLLOUT = ("ci/build.py", "ci/deploy.py", "kubectl", "buildctl", "install-kubectl", "docker")


def test_ci_is_the_test_job_alone_the_same_for_every_event() -> None:
    assert list(JOBS) == ["test"]
    # No `if:` anywhere: a push to main, to a branch and a pull request run exactly this.
    assert all(
        "if" not in job and "if" not in step for job in JOBS.values() for step in job["steps"]
    )


def test_no_job_gets_a_secret_or_a_registry_or_cluster_credential_for_any_event() -> None:
    text = WORKFLOW_PATH.read_text()
    assert "secrets." not in text
    expressions = set(re.findall(r"\$\{\{\s*(.*?)\s*\}\}", text))
    # The job's own automatic token (every job holds it as ACTIONS_RUNTIME_TOKEN anyway) for
    # the checkout, and nothing else.
    assert expressions == {"github.token"}
    for name, job in JOBS.items():
        env_names = {
            *job.get("env", {}),
            *(n for step in job["steps"] for n in step.get("env", {})),
        }
        assert env_names <= {"JOB_TOKEN"}, name
        assert not [n for n in env_names if CREDENTIAL.search(n)], name
        for step in job["steps"]:
            assert not [word for word in ROLLOUT if word in step["run"]], (name, step["name"])
            assert not CREDENTIAL.search(step["run"]), (name, step["name"])


def test_the_checkout_token_reaches_git_through_its_environment_not_its_argv() -> None:
    checkout = run_of("test", "Check out")
    assert "git -c" not in checkout
    assert 'GIT_CONFIG_VALUE_0="Authorization: Basic $auth"' in checkout


def test_jobs_run_on_the_clusters_runner_with_run_steps_only() -> None:
    for name, job in JOBS.items():
        assert job["runs-on"] == names.FORGEJO_RUNNER_LABEL, name
        for step in job["steps"]:
            assert "uses" not in step and "run" in step, (name, step.get("name"))
    checkout = JOBS["test"]["steps"][0]
    assert checkout["name"] == "Check out the commit"
    assert 'git checkout -q --force --detach "$GITHUB_SHA"' in checkout["run"]


def test_the_pinned_kubectl_suits_the_clusters_version() -> None:
    script = (checks.ROOT / "ci" / "install-kubectl.sh").read_text()
    version = re.search(r"^version=v(\d+)\.(\d+)\.\d+$", script, re.MULTILINE)
    assert version is not None
    assert re.search(r"^sha256=[0-9a-f]{64}\b", script, re.MULTILINE)
    cluster_major, cluster_minor = map(int, names.KUBERNETES_MINOR.split("."))
    assert int(version[1]) == cluster_major
    assert abs(int(version[2]) - cluster_minor) <= 1  # kubectl's supported version skew
