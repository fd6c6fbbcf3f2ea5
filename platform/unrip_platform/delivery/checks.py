"""The delivery's offline checks: what `invoke check` runs and tests/platform/delivery asserts.

Every overlay is rendered exactly as a deploy renders it (``ci/deploy.py --render-only`` with a
placeholder digest), validated against the strict schemas of the cluster's Kubernetes version
and scanned by checkov with ``manifests/policy_exceptions.yaml`` (``unrip_platform.validation``,
the same toolkit as the cluster project); the workflows, the Dockerfile and the hand-written
YAML are linted. Nothing here needs a network or a cluster, only kubectl for kustomize.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Final

import yaml

from unrip_platform import names
from unrip_platform.validation import (
    PolicyReport,
    evaluate,
    load_exceptions,
    run_checkov,
    validate_manifests,
    write_manifests,
)
from unrip_platform.validation.policy import repo_root

Manifest = dict[str, Any]

ROOT: Final = repo_root()
MANIFESTS: Final = ROOT / "manifests"
OVERLAYS: Final = MANIFESTS / "overlays"
POLICY_EXCEPTIONS: Final = MANIFESTS / "policy_exceptions.yaml"
DOCKERFILE: Final = ROOT / "apps" / "Dockerfile"
WORKFLOWS: Final = ROOT / ".forgejo" / "workflows"
ACTIONLINT_CONFIG: Final = ROOT / ".forgejo" / "actionlint.yaml"
YAMLLINT_CONFIG: Final = ROOT / ".yamllint.yaml"
DEPLOY_SCRIPT: Final = ROOT / names.DEPLOY_SCRIPT
# What the checks deploy: the production repository at a digest no image has.
PLACEHOLDER_IMAGE: Final = f"{names.IMAGE_REPOSITORY}@sha256:{'0' * 64}"


class CheckError(RuntimeError):
    """A check could not run at all (a missing tool, an overlay that does not render)."""


def overlay_names() -> list[str]:
    return sorted(p.name for p in OVERLAYS.iterdir() if (p / "kustomization.yaml").is_file())


def render_overlay(name: str, image: str = PLACEHOLDER_IMAGE) -> list[Manifest]:
    """The manifests a deploy of ``image`` with overlay ``name`` would apply."""
    command = [sys.executable, str(DEPLOY_SCRIPT), "--render-only", "--overlay", name]
    command += ["--image", image] + ([] if "@" in image else ["--allow-tag"])
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise CheckError(f"overlay {name} does not render: {result.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def schema_problems(manifests: Sequence[Mapping[str, Any]]) -> list[str]:
    return [str(problem) for problem in validate_manifests(manifests)]


def policy_scan(
    rendered: Mapping[str, Sequence[Mapping[str, Any]]],
    directory: Path,
    *,
    checkov: Path | None = None,
) -> PolicyReport:
    """One checkov run over every overlay and the Dockerfile, judged by the exceptions file."""
    directory.mkdir(parents=True, exist_ok=True)
    for overlay, manifests in rendered.items():
        write_manifests(manifests, directory / overlay)
    shutil.copy(DOCKERFILE, directory / "Dockerfile")
    findings = run_checkov(directory, frameworks=("kubernetes", "dockerfile"), checkov=checkov)
    return evaluate(findings, load_exceptions(POLICY_EXCEPTIONS))


def tool(name: str) -> str:
    """A linter from this environment's bin directory (PyPI wheels ship them), else PATH."""
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise CheckError(f"{name} not found; run `./run --list` once to install the dev tools")
    return found


def _problems(command: Sequence[str]) -> list[str]:
    result = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    if result.returncode == 0:
        return []
    output = (result.stdout + result.stderr).strip()
    return output.splitlines() or [f"{command[0]} exited {result.returncode}"]


def workflow_files() -> list[Path]:
    return sorted([*WORKFLOWS.glob("*.yml"), *WORKFLOWS.glob("*.yaml")])


def lint_workflows() -> list[str]:
    # With shellcheck, actionlint also checks the shell of every `run:` step.
    command = [tool("actionlint"), "-config-file", str(ACTIONLINT_CONFIG), "-no-color"]
    command += ["-shellcheck", tool("shellcheck")]
    return _problems([*command, *map(str, workflow_files())])


def lint_dockerfile() -> list[str]:
    return _problems([tool("hadolint"), "--no-color", str(DOCKERFILE)])


def lint_yaml() -> list[str]:
    paths = [MANIFESTS, WORKFLOWS.parent, YAMLLINT_CONFIG]
    return _problems(
        [tool("yamllint"), "-s", "-f", "parsable", "-c", str(YAMLLINT_CONFIG), *map(str, paths)]
    )


@dataclass
class Outcome:
    name: str
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


def run_all(report: Callable[[str], None] = print) -> bool:
    """Every check, each reported as it finishes; True when all passed."""
    outcomes: list[Outcome] = []

    def record(name: str, check: Callable[[], list[str]]) -> None:
        started = time.monotonic()
        try:
            problems = check()
        except CheckError as error:
            problems = [str(error)]
        outcome = Outcome(name, problems, time.monotonic() - started)
        outcomes.append(outcome)
        verdict = "ok" if not problems else f"{len(problems)} problem(s)"
        report(f"{name}: {verdict} ({outcome.seconds:.1f} s)")
        for problem in problems:
            report(f"  {problem}")

    rendered: dict[str, list[Manifest]] = {}

    def render_all() -> list[str]:
        for overlay in overlay_names():
            rendered[overlay] = render_overlay(overlay)
        return []

    record("render overlays", render_all)
    for overlay, manifests in rendered.items():
        record(
            f"schemas ({overlay}, Kubernetes {names.KUBERNETES_MINOR})",
            partial(schema_problems, manifests),
        )

    def scan() -> list[str]:
        with tempfile.TemporaryDirectory(prefix="unrip-check-") as scratch:
            result = policy_scan(rendered, Path(scratch))
        return [] if result.ok else result.summary().splitlines()

    if rendered:
        record("policy (checkov, documented exceptions)", scan)
    record("actionlint", lint_workflows)
    record("hadolint", lint_dockerfile)
    record("yamllint", lint_yaml)
    return all(not outcome.problems for outcome in outcomes)
