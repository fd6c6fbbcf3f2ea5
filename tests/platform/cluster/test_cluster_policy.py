"""The checkov scan passes, with every exception documented and still needed."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from unrip_platform.cluster.render import POLICY_EXCEPTIONS
from unrip_platform.validation import (
    CheckovUnavailableError,
    Finding,
    PolicyException,
    PolicyReport,
    ensure_checkov,
    evaluate,
    load_exceptions,
)

pytestmark = pytest.mark.platform


def finding(check: str, resource: str) -> Finding:
    return Finding(check_id=check, check_name="a check", resource=resource, file="/x.yaml")


def test_rendered_manifests_pass_the_policy_scan(policy_report: PolicyReport) -> None:
    assert policy_report.ok, policy_report.summary()


def test_the_scan_really_ran(policy_report: PolicyReport) -> None:
    # The exceptions are only "used" if checkov reported the failures they excuse.
    checks = {entry.check for _, entry in policy_report.excused}
    assert checks == {entry.check for entry in load_exceptions(POLICY_EXCEPTIONS)}


def test_privilege_exceptions_cover_buildkit_only(policy_report: PolicyReport) -> None:
    privileged = {"CKV_K8S_20", "CKV_K8S_22", "CKV_K8S_28", "CKV_K8S_37"}
    resources = {f.resource for f, entry in policy_report.excused if entry.check in privileged}
    assert resources == {"Deployment.platform.buildkitd"}


def test_an_undocumented_failure_is_a_violation() -> None:
    exceptions = [PolicyException(check="CKV_K8S_43", resources=("*.platform.*",), reason="x" * 20)]
    report = evaluate(
        [finding("CKV_K8S_43", "Deployment.platform.forgejo"), finding("CKV_K8S_43", "Pod.apps.x")],
        exceptions,
    )
    assert [f.resource for f in report.violations] == ["Pod.apps.x"]
    assert not report.ok


def test_an_exception_that_excuses_nothing_is_stale() -> None:
    exceptions = [
        PolicyException(
            check="CKV_K8S_20", resources=("Deployment.platform.gone",), reason="x" * 20
        )
    ]
    report = evaluate([], exceptions)
    assert report.stale == exceptions
    assert "stale exception" in report.summary()


def test_an_exception_needs_a_reason() -> None:
    with pytest.raises(ValidationError):
        PolicyException(check="CKV_K8S_20", resources=("*",), reason="because")


def test_exceptions_file_rejects_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "exceptions.yaml"
    path.write_text(
        "exceptions:\n  - check: CKV_K8S_20\n    resources: ['*']\n"
        "    reason: a reason that is long enough\n    expires: never\n"
    )
    with pytest.raises(ValidationError):
        load_exceptions(path)


def test_checkov_install_is_idempotent() -> None:
    first = ensure_checkov()
    stamp = first.parent.parent / ".unrip-installed"
    before = stamp.stat().st_mtime_ns
    assert ensure_checkov() == first
    assert stamp.stat().st_mtime_ns == before


def test_checkov_install_failure_is_explained(tmp_path: Path) -> None:
    lock = tmp_path / "checkov.lock"
    lock.write_text("checkov==3.3.30\n")
    with pytest.raises(CheckovUnavailableError, match="could not create"):
        ensure_checkov(venv=tmp_path / "venv", lock=lock, python=str(tmp_path / "no-python"))


def test_a_missing_lock_is_explained(tmp_path: Path) -> None:
    with pytest.raises(CheckovUnavailableError, match="missing"):
        ensure_checkov(venv=tmp_path / "venv", lock=tmp_path / "absent.lock")
