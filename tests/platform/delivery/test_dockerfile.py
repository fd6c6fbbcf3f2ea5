"""apps/Dockerfile cannot be built here (no container engine): what it installs and runs is."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from unrip.cli import SERVICES
from unrip_platform import names
from unrip_platform.cluster.settings import JOB_IMAGE
from unrip_platform.delivery import checks

pytestmark = pytest.mark.platform

ROOT = checks.ROOT
DOCKERFILE = checks.DOCKERFILE.read_text()
LINES = [line.strip() for line in DOCKERFILE.replace("\\\n", " ").splitlines()]
INSTRUCTIONS = [line for line in LINES if line and not line.startswith("#")]


def stages() -> list[list[str]]:
    found: list[list[str]] = []
    for line in INSTRUCTIONS:
        if line.startswith("FROM "):
            found.append([])
        found[-1].append(line)
    return found


def locked(path: Path) -> dict[str, str]:
    """The pins of a hashed lock (``name==version \\`` lines; hash lines follow each)."""
    pins = {}
    for line in path.read_text().splitlines():
        requirement = line.split("#", 1)[0].strip().removesuffix("\\").strip()
        if requirement and not requirement.startswith("--"):
            name, version = requirement.split("==")
            pins[name.lower()] = version
    return pins


def test_both_stages_use_one_digest_pinned_base_with_the_ci_python() -> None:
    bases = [stage[0].split()[1] for stage in stages()]
    assert len(bases) == 2 and bases[0] == bases[1]
    assert re.fullmatch(r"python:(3\.11\.\d+)-slim-bookworm@sha256:[0-9a-f]{64}", bases[0])
    # The image runs the Python version CI tests with (the runner's job image).
    assert bases[0].split(":")[1].split("-")[0] == JOB_IMAGE.split(":")[1].split("-")[0]


def test_it_installs_exactly_the_runtime_lock_from_wheels() -> None:
    build = " ".join(stages()[0])
    assert "COPY requirements/runtime.lock requirements/runtime.lock" in build
    assert (
        "pip install --no-deps --only-binary=:all: --require-hashes -r requirements/runtime.lock"
        in build
    )
    assert "pip install --no-deps ." in build  # the project itself, nothing resolved


def test_the_runtime_lock_pins_every_runtime_dependency() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lock = locked(ROOT / "requirements" / "runtime.lock")
    for requirement in project["dependencies"]:
        name, version = requirement.split("==")
        assert lock[name.lower()] == version, name


def test_the_final_stage_has_no_build_tools_and_runs_as_the_apps_user() -> None:
    final = stages()[1]
    text = " ".join(final)
    for tool in ("pip install", "apt-get", "gcc", "build-essential", "COPY apps/", "COPY . "):
        assert tool not in text, tool
    assert "COPY --from=build /opt/unrip /opt/unrip" in final
    users = [line.split()[1] for line in final if line.startswith("USER ")]
    assert users == [f"{names.APPS_UID}:{names.APPS_UID}"]
    assert final.index(f"USER {users[0]}") < final.index(
        next(i for i in final if i.startswith("ENTRYPOINT"))
    )
    assert "PYTHONDONTWRITEBYTECODE=1" in text  # read-only root filesystem in the cluster


def test_the_entrypoint_is_the_projects_console_script() -> None:
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    (entrypoint,) = [line for line in INSTRUCTIONS if line.startswith("ENTRYPOINT")]
    assert entrypoint == 'ENTRYPOINT ["unrip"]'
    assert scripts["unrip"] == "unrip.cli:main"
    (command,) = [line for line in INSTRUCTIONS if line.startswith("CMD")]
    assert not any(service in command for service in SERVICES)  # the manifests choose


def test_the_build_context_holds_only_what_the_image_needs() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*"  # everything excluded, then only these let back in
    allowed = {p[1:] for p in patterns if p.startswith("!")}
    assert allowed == {"pyproject.toml", "README.md", "requirements/runtime.lock", "apps/"}
    copied = {
        line.split()[1]
        for line in INSTRUCTIONS
        if line.startswith("COPY ") and "--from" not in line
    }
    assert copied <= {"requirements/runtime.lock", "pyproject.toml", "apps/"}


def test_the_deploy_scripts_dependency_is_the_locked_one() -> None:
    lock = locked(ROOT / "requirements" / "runtime.lock")
    for name, version in locked(ROOT / "ci" / "requirements.txt").items():
        assert lock[name] == version
