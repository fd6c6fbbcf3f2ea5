"""The delivery's deploy script (`names.DEPLOY_SCRIPT`), called exactly as the workflow calls it.

The bootstrap's direct apply uses it when no runner can run the workflow yet; it belongs to the
delivery (issue 6) and is treated as an external command here.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Protocol

from unrip_platform import names

from unrip_bootstrap.clients.process import CommandRunner


class DeployError(RuntimeError):
    """The deploy script failed or is missing."""


class Deployer(Protocol):
    def deploy(self, image: str, overlay: str, kubeconfig: Path, timeout_s: float) -> None: ...


class DeployScript:
    def __init__(self, repo: Path, runner: CommandRunner, python: str = sys.executable) -> None:
        self._repo = repo
        self._runner = runner
        self._python = python

    def argv(self, image: str, overlay: str, timeout_s: float) -> list[str]:
        return [
            self._python,
            names.DEPLOY_SCRIPT,
            "--image",
            image,
            "--overlay",
            overlay,
            "--timeout",
            str(int(timeout_s)),
            # The bootstrap holds the operator's kubeconfig: it also applies what the deployer
            # may not (RBAC, network policies, the strategy ConfigMap).
            "--operator",
        ]

    def deploy(self, image: str, overlay: str, kubeconfig: Path, timeout_s: float) -> None:
        if not (self._repo / names.DEPLOY_SCRIPT).is_file():
            raise DeployError(
                f"{names.DEPLOY_SCRIPT} is missing from this checkout: the direct apply runs the "
                "delivery's deploy script (manifests and workflows, issue 6)"
            )
        result = self._runner.run(
            self.argv(image, overlay, timeout_s),
            env={"KUBECONFIG": str(kubeconfig)},
            cwd=self._repo,
            timeout_s=timeout_s + 120,
        )
        if not result.ok:
            tail = "\n".join((result.stderr or result.stdout).strip().splitlines()[-15:])
            raise DeployError(f"{names.DEPLOY_SCRIPT} exited with {result.returncode}:\n{tail}")
