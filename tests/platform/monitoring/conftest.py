"""promtool for the rule tests: installed by the project's own script when it is missing.

promtool comes from Debian's ``prometheus`` package (ci/install-promtool.sh). These tests never
skip: on a machine where the install fails they fail, saying how to get promtool.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
INSTALL_SCRIPT = REPO / "ci" / "install-promtool.sh"


def ensure_promtool() -> str:
    found = shutil.which("promtool")
    if found:
        return found
    result = subprocess.run(
        ["/bin/sh", str(INSTALL_SCRIPT)], capture_output=True, text=True, check=False
    )
    found = shutil.which("promtool")
    if result.returncode != 0 or not found:
        pytest.fail(
            f"promtool is missing and {INSTALL_SCRIPT.relative_to(REPO)} could not install it "
            f"(exit {result.returncode}):\n{result.stderr.strip()}\n"
            "Install Debian's 'prometheus' package (apt-get install --no-install-recommends "
            "prometheus) or put promtool 2.42+ on PATH.",
            pytrace=False,
        )
    return found


@pytest.fixture(scope="session")
def promtool() -> str:
    return ensure_promtool()
