"""The policy scan and the linters `invoke check` runs, as tests (the same functions)."""

from __future__ import annotations

from pathlib import Path

import pytest
from unrip_platform.delivery import checks
from unrip_platform.validation import PolicyReport, load_exceptions

pytestmark = pytest.mark.platform


def test_manifests_and_dockerfile_pass_the_policy_scan(policy_report: PolicyReport) -> None:
    assert policy_report.ok, policy_report.summary()


def test_the_scan_covered_both_overlays_and_the_dockerfile(policy_report: PolicyReport) -> None:
    # Every exception is "used" only if checkov reported the failure it excuses, which needs
    # both overlays scanned (paths are relative to the scan directory, one folder per overlay);
    # that the Dockerfile is scanned at all is shown with a broken copy below.
    used = {entry.check for _, entry in policy_report.excused}
    assert used == {entry.check for entry in load_exceptions(checks.POLICY_EXCEPTIONS)}
    files = {finding.file for finding, _ in policy_report.excused}
    assert {f.split("/")[1] for f in files} >= {"hetzner-single-node", "local"}


def test_no_privilege_is_excused_for_the_apps(policy_report: PolicyReport) -> None:
    excused = {(finding.check_id, finding.resource) for finding, _ in policy_report.excused}
    apps = {(check, resource) for check, resource in excused if ".apps." in resource}
    # Only secrets as env vars (CKV_K8S_35): the relay JWT, the command MAC key, the
    # object-storage keys and each Kafka client's bus login.
    assert apps == {
        ("CKV_K8S_35", f"Deployment.apps.{name}")
        for name in ("ingest", "ingest-prices", "reactor", "executor", "monitor", "archiver")
    }


def test_the_policy_scan_rejects_a_root_dockerfile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = tmp_path / "Dockerfile"
    text = checks.DOCKERFILE.read_text()
    broken.write_text("\n".join(line for line in text.splitlines() if not line.startswith("USER")))
    monkeypatch.setattr(checks, "DOCKERFILE", broken)
    report = checks.policy_scan({}, tmp_path / "scan")
    assert not report.ok
    assert any(finding.check_id == "CKV_DOCKER_3" for finding in report.violations)


def test_workflows_pass_actionlint() -> None:
    assert checks.workflow_files()
    assert checks.lint_workflows() == []


def test_actionlint_really_lints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    workflows = tmp_path / "workflows"
    workflows.mkdir()
    (workflows / "bad.yml").write_text(
        "on: push\njobs:\n  x:\n    runs-on: some-other-label\n    steps:\n"
        "      - run: echo ${{ github.nope }}\n"
    )
    monkeypatch.setattr(checks, "WORKFLOWS", workflows)
    problems = "\n".join(checks.lint_workflows())
    assert "some-other-label" in problems and "nope" in problems


def test_dockerfile_passes_hadolint() -> None:
    assert checks.lint_dockerfile() == []


def test_handwritten_yaml_passes_yamllint() -> None:
    assert checks.lint_yaml() == []
