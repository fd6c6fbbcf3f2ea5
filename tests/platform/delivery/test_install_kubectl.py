"""ci/install-kubectl.sh never installs a binary whose checksum is not the pinned one."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from unrip_platform.delivery import checks

pytestmark = pytest.mark.platform

SCRIPT = checks.ROOT / "ci" / "install-kubectl.sh"


def test_a_binary_with_the_wrong_checksum_is_not_installed(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror" / "v1.36.4" / "bin" / "linux" / "amd64"
    mirror.mkdir(parents=True)
    (mirror / "kubectl").write_bytes(b"#!/bin/sh\necho not kubectl\n")
    tools = tmp_path / "tools"
    result = subprocess.run(
        ["sh", str(SCRIPT)],
        capture_output=True,
        text=True,
        env={
            "PATH": os.environ["PATH"],
            "HOME": str(tmp_path),
            "UNRIP_TOOLS_DIR": str(tools),
            "UNRIP_KUBECTL_BASE_URL": f"file://{tmp_path / 'mirror'}",
        },
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    assert "checksum mismatch" in result.stderr
    assert not [p for p in tools.rglob("*") if p.is_file()]  # not even the partial download


def test_the_script_is_clean_shell() -> None:
    shellcheck = checks.tool("shellcheck")
    for script in (SCRIPT, checks.ROOT / "ci" / "test.sh"):
        result = subprocess.run([shellcheck, str(script)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout
