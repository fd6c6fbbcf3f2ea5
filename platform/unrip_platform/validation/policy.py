"""The security policy scan: checkov over rendered manifests, with documented exceptions only.

checkov pins ``packaging<24``, which the project's own environment cannot satisfy, so it lives in
its own virtualenv (``.venv-checkov``), created on first use from ``requirements/checkov.lock``
and recreated whenever the lock changes.

Exceptions are never passed to checkov as skips: every failed check comes back, and each must
be matched by an entry of a checked-in exceptions file that names the check, the resources it
covers and the reason. Entries that no longer match anything are reported too, so the list
cannot silently outlive the problem it excused.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Final

import yaml
from pydantic import BaseModel, ConfigDict, Field

CHECKOV_VENV_ENV: Final = "UNRIP_CHECKOV_VENV"
STAMP: Final = ".unrip-installed"


class CheckovUnavailableError(RuntimeError):
    """checkov could not be installed or run; the message says what to do."""


def repo_root(start: Path | None = None) -> Path:
    """The checkout this package runs from (the directory holding requirements/checkov.lock)."""
    here = (start or Path(__file__)).resolve()
    for candidate in (here, *here.parents):
        if (candidate / "requirements" / "checkov.lock").is_file():
            return candidate
    raise CheckovUnavailableError(
        f"requirements/checkov.lock not found above {here}; run from a checkout of the repo"
    )


def default_venv() -> Path:
    configured = os.environ.get(CHECKOV_VENV_ENV)
    return Path(configured) if configured else repo_root() / ".venv-checkov"


def _run(command: Sequence[str | Path], what: str) -> None:
    try:
        subprocess.run(command, check=True, capture_output=True, text=True)
    except (OSError, subprocess.CalledProcessError) as error:
        detail = getattr(error, "stderr", None) or str(error)
        raise CheckovUnavailableError(
            f"could not {what}: {detail.strip()[-2000:]}\n"
            "checkov installs from PyPI into its own virtualenv on first use; check network "
            f"access to PyPI, or point {CHECKOV_VENV_ENV} at a virtualenv holding checkov."
        ) from error


def ensure_checkov(
    venv: Path | None = None, lock: Path | None = None, python: str = sys.executable
) -> Path:
    """The checkov executable, installing it from the lock first if needed (idempotent).

    A file lock serialises concurrent first uses (parallel test workers, two shells).
    """
    venv = venv or default_venv()
    lock = lock or repo_root() / "requirements" / "checkov.lock"
    if not lock.is_file():
        raise CheckovUnavailableError(f"lock file {lock} is missing")
    wanted = hashlib.sha256(lock.read_bytes()).hexdigest()
    executable = venv / "bin" / "checkov"
    stamp = venv / STAMP

    def current() -> bool:
        return executable.is_file() and stamp.is_file() and stamp.read_text().strip() == wanted

    if current():
        return executable
    venv.parent.mkdir(parents=True, exist_ok=True)
    venv_id = hashlib.sha256(str(venv.resolve()).encode()).hexdigest()[:12]
    with (Path(tempfile.gettempdir()) / f"unrip-checkov-{venv_id}.lock").open("w") as guard:
        fcntl.flock(guard, fcntl.LOCK_EX)
        if current():
            return executable
        _run([python, "-m", "venv", "--clear", str(venv)], f"create {venv}")
        _run(
            [
                venv / "bin" / "python",
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                # The lock is the full closure: install exactly it, resolve nothing, and
                # refuse any file whose hash the lock does not name.
                "--no-deps",
                "--require-hashes",
                "-r",
                lock,
            ],
            f"install checkov from {lock}",
        )
        if not executable.is_file():
            raise CheckovUnavailableError(f"{lock} installed no checkov executable into {venv}")
        stamp.write_text(wanted + "\n")
    return executable


def write_manifests(manifests: Iterable[Mapping[str, Any]], directory: Path) -> list[Path]:
    """One YAML file per manifest (checkov reports files, so one object per file reads best)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, manifest in enumerate(manifests):
        meta = manifest.get("metadata") or {}
        stem = f"{index:03d}-{manifest.get('kind', 'object')}-{meta.get('name', 'unnamed')}"
        path = directory / f"{stem.lower()}.yaml"
        path.write_text(yaml.safe_dump(dict(manifest), sort_keys=False))
        paths.append(path)
    return paths


@dataclass(frozen=True, slots=True)
class Finding:
    """A failed check: ``resource`` is checkov's ``Kind.namespace.name``."""

    check_id: str
    check_name: str
    resource: str
    file: str

    def __str__(self) -> str:
        return f"{self.check_id} {self.resource} ({self.file}): {self.check_name}"


def _findings(report: Any) -> list[Finding]:
    reports = report if isinstance(report, list) else [report]
    findings = []
    for one in reports:
        for failed in (one.get("results") or {}).get("failed_checks", []):
            findings.append(
                Finding(
                    check_id=failed["check_id"],
                    check_name=failed.get("check_name", ""),
                    resource=failed.get("resource", ""),
                    file=failed.get("file_path", ""),
                )
            )
    return findings


def run_checkov(
    directory: Path,
    *,
    frameworks: Sequence[str] = ("kubernetes",),
    checkov: Path | None = None,
) -> list[Finding]:
    """Every failed check under ``directory`` (no skips: exceptions are applied by ``evaluate``)."""
    executable = checkov or ensure_checkov()
    command = [
        str(executable),
        "--directory",
        str(directory),
        "--framework",
        ",".join(frameworks),
        "--skip-download",
        "--output",
        "json",
        "--compact",
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    # 0: all passed, 1: some failed; anything else (or no JSON) is checkov itself failing.
    if result.returncode not in (0, 1):
        raise CheckovUnavailableError(f"checkov failed ({result.returncode}): {result.stderr}")
    output = result.stdout.strip()
    if not output:
        raise CheckovUnavailableError(f"checkov printed no report: {result.stderr}")
    try:
        report = json.loads(output)
    except json.JSONDecodeError as error:
        raise CheckovUnavailableError(f"checkov's report is not JSON: {output[:500]}") from error
    if isinstance(report, dict) and "results" not in report:
        # checkov prints a bare summary when it found nothing to scan: that is not a pass.
        raise CheckovUnavailableError(f"checkov found nothing to scan in {directory}: {report}")
    return _findings(report)


class PolicyException(BaseModel):
    """One accepted failure: which check, for which resources, and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    check: str = Field(pattern=r"^CKV2?_[A-Z0-9]+_\d+$")
    # checkov resource ids (``Kind.namespace.name``); shell-style wildcards allowed.
    resources: tuple[str, ...] = Field(min_length=1)
    reason: str = Field(min_length=20)

    def covers(self, finding: Finding) -> bool:
        return finding.check_id == self.check and any(
            fnmatchcase(finding.resource, pattern) for pattern in self.resources
        )


class _ExceptionsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    exceptions: list[PolicyException]


def load_exceptions(path: Path) -> list[PolicyException]:
    return _ExceptionsFile.model_validate(yaml.safe_load(path.read_text())).exceptions


@dataclass(frozen=True)
class PolicyReport:
    """``violations`` fail the scan; ``stale`` exceptions excuse nothing any more."""

    violations: list[Finding]
    excused: list[tuple[Finding, PolicyException]] = field(default_factory=list)
    stale: list[PolicyException] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.violations and not self.stale

    def summary(self) -> str:
        lines = [f"policy violation: {finding}" for finding in self.violations]
        lines += [
            f"stale exception: {entry.check} for {', '.join(entry.resources)} matches nothing"
            for entry in self.stale
        ]
        return "\n".join(lines) or f"policy scan clean ({len(self.excused)} documented exceptions)"


def evaluate(findings: Iterable[Finding], exceptions: Sequence[PolicyException]) -> PolicyReport:
    violations: list[Finding] = []
    excused: list[tuple[Finding, PolicyException]] = []
    used: set[int] = set()
    for finding in findings:
        match = next((i for i, entry in enumerate(exceptions) if entry.covers(finding)), None)
        if match is None:
            violations.append(finding)
        else:
            used.add(match)
            excused.append((finding, exceptions[match]))
    stale = [entry for i, entry in enumerate(exceptions) if i not in used]
    return PolicyReport(violations=violations, excused=excused, stale=stale)


def scan_manifests(
    manifests: Iterable[Mapping[str, Any]],
    directory: Path,
    exceptions: Sequence[PolicyException],
    *,
    checkov: Path | None = None,
) -> PolicyReport:
    """Write, scan and judge in one step: what a test or `invoke check` wants."""
    write_manifests(manifests, directory)
    return evaluate(run_checkov(directory, checkov=checkov), exceptions)
