"""ci/build.py run as a process against a stand-in buildctl (no BuildKit daemon here)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from unrip_platform import names
from unrip_platform.delivery import checks

pytestmark = pytest.mark.platform

BUILD = checks.ROOT / "ci" / "build.py"
PASSWORD = "registry-pass-91c2"
REVISION = "0123456789abcdef0123456789abcdef01234567"
PUSH = f"{names.FORGEJO_LOOPBACK_HOST}/{names.FORGEJO_ORG}/unrip"

# Records its argv and the Docker config it was given, then writes the metadata file
# BuildKit writes after a push (the digest of the pushed manifest).
FAKE_BUILDCTL = """
import json, os, sys
args = sys.argv[1:]
config = os.path.join(os.environ.get("DOCKER_CONFIG", "/nonexistent"), "config.json")
record = {"argv": args, "config": open(config).read() if os.path.exists(config) else None,
          "mode": oct(os.stat(config).st_mode & 0o777) if os.path.exists(config) else None}
with open(os.environ["FAKE_BUILDCTL_LOG"], "w") as log:
    json.dump(record, log)
if os.environ.get("FAKE_BUILDCTL_FAIL"):
    sys.exit(1)
metadata = args[args.index("--metadata-file") + 1]
with open(metadata, "w") as out:
    json.dump({"containerimage.digest": "sha256:" + "d" * 64}, out)
"""


def run_build(
    tmp_path: Path, **env: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    fake = tmp_path / "fake_buildctl.py"
    fake.write_text(FAKE_BUILDCTL)
    shim = tmp_path / "buildctl"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{fake}" "$@"\n')
    shim.chmod(0o755)
    environment = {
        "PATH": os.environ["PATH"],
        "UNRIP_BUILDCTL": str(shim),
        "FAKE_BUILDCTL_LOG": str(tmp_path / "buildctl.json"),
        "UNRIP_REGISTRY_PUSH": PUSH,
        "UNRIP_IMAGE_REPOSITORY": names.IMAGE_REPOSITORY,
        "UNRIP_REGISTRY_USER": "unrip-ci",
        "UNRIP_REGISTRY_PASSWORD": PASSWORD,
        "GITHUB_OUTPUT": str(tmp_path / "outputs"),
        **env,
    }
    result = subprocess.run(
        [sys.executable, str(BUILD), "--revision", REVISION],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
    )
    log = tmp_path / "buildctl.json"
    return result, json.loads(log.read_text()) if log.exists() else {}


def test_the_image_is_pushed_tagged_with_the_commit_and_reported_by_digest(tmp_path: Path) -> None:
    result, call = run_build(tmp_path)
    assert result.returncode == 0, result.stderr
    expected = f"{names.IMAGE_REPOSITORY}@sha256:{'d' * 64}"
    assert result.stdout.strip() == expected
    assert (tmp_path / "outputs").read_text() == f"image={expected}\n"
    argv = call["argv"]
    assert argv[argv.index("--output") + 1] == f"type=image,name={PUSH}:{REVISION},push=true"
    assert f"dockerfile={checks.DOCKERFILE.parent}" in argv
    assert f"context={checks.ROOT}" in argv
    assert f"build-arg:UNRIP_REVISION={REVISION}" in argv


def test_registry_credentials_go_to_a_private_docker_config_only(tmp_path: Path) -> None:
    result, call = run_build(tmp_path)
    assert result.returncode == 0
    assert PASSWORD not in result.stdout + result.stderr
    assert PASSWORD not in " ".join(call["argv"])
    assert call["mode"] == "0o600"
    auths = json.loads(call["config"])["auths"]
    assert list(auths) == [names.FORGEJO_LOOPBACK_HOST]  # the registry part of the push address
    assert "auth" in auths[names.FORGEJO_LOOPBACK_HOST]


def test_a_failed_build_fails_the_step_and_reports_nothing(tmp_path: Path) -> None:
    result, _ = run_build(tmp_path, FAKE_BUILDCTL_FAIL="1")
    assert result.returncode == 1 and "buildctl failed" in result.stderr
    assert not (tmp_path / "outputs").exists()


def test_a_missing_setting_is_named(tmp_path: Path) -> None:
    result, call = run_build(tmp_path, UNRIP_REGISTRY_PUSH="")
    assert result.returncode == 1 and "UNRIP_REGISTRY_PUSH is not set" in result.stderr
    assert call == {}
