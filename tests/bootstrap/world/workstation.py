"""The workstation's checkout, the deploy script, tools and clock; `fake_clients` wires them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from unrip_bootstrap.clients.deploy import DeployError
from unrip_bootstrap.clients.forgejo import ForgejoClient
from unrip_bootstrap.clients.git import GitError
from unrip_bootstrap.clients.process import CommandResult, ToolMissingError
from unrip_bootstrap.clients.registry import RegistryClient
from unrip_bootstrap.context import Clients
from unrip_platform import names

from tests.bootstrap.world.cluster import FakeKube
from tests.bootstrap.world.forgejo import FakeForgejo
from tests.bootstrap.world.node import FakeSsh
from tests.bootstrap.world.pulumi import FakeStack
from tests.bootstrap.world.state import ADMIN, ADMIN_PASSWORD, Run, World


class FakeGit:
    def __init__(self, world: World, head: str = "c0ffee" + "1" * 34) -> None:
        self.world = world
        self.current = head

    def head(self) -> str:
        return self.current

    def is_dirty(self) -> bool:
        return False

    def push(self, url: str, refspec: str, *, username: str, password: str) -> None:
        assert url == f"{names.FORGEJO_ROOT_URL}unrip/unrip.git"
        assert refspec == "HEAD:refs/heads/main"
        if message := self.world.failing("git.push"):
            raise GitError(f"git push failed: {message}")
        assert (username, password) == (ADMIN, ADMIN_PASSWORD)
        self.world.mutate(f"git.push {self.current[:12]}")
        forgejo = self.world.forgejo
        forgejo["branch"] = self.current
        runs = forgejo.setdefault("runs", [])
        runs.append(Run(len(runs) + 1, self.current, "waiting"))


class FakeDeployer:
    def __init__(self, world: World) -> None:
        self.world = world
        self.calls: list[tuple[str, str]] = []

    def deploy(self, image: str, overlay: str, kubeconfig: Path, timeout_s: float) -> None:
        if message := self.world.failing("deploy"):
            raise DeployError(f"ci/deploy.py exited with 1:\n{message}")
        assert kubeconfig.is_file()
        self.calls.append((image, overlay))
        self.world.mutate(f"deploy {image}")
        self.world.deploy_apps(image.split("@", 1)[1])


class FakeTools:
    """`<tool> version` answers of a workstation with everything installed."""

    VERSIONS = {
        "pulumi": "v3.272.0",
        "kubectl": "Client Version: v1.36.1",
        "git": "git version 2.45.0",
        "ssh": "OpenSSH_9.6p1",
    }

    def __init__(self) -> None:
        self.missing: set[str] = set()

    def run(self, argv: Sequence[str], **_: Any) -> CommandResult:
        if argv[0] in self.missing:
            raise ToolMissingError(f"{argv[0]} is not installed")
        return CommandResult(0, self.VERSIONS[argv[0]] + "\n", "")


class FakeClock:
    """Time that passes only when the bootstrap waits."""

    def __init__(self, world: World) -> None:
        self.world = world

    def monotonic(self) -> float:
        return self.world.now

    def sleep(self, seconds: float) -> None:
        self.world.now += seconds

    def now(self) -> datetime:
        return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=self.world.now)


def fake_clients(world: World, stack: str = "prod") -> tuple[Clients, FakeGit, FakeDeployer]:
    git, deployer = FakeGit(world), FakeDeployer(world)
    forgejo = FakeForgejo(world)

    def make_forgejo(url: str, username: str, password: str) -> ForgejoClient:
        return ForgejoClient(url, username, password, transport=httpx.MockTransport(forgejo.handle))

    clients = Clients(
        stack=lambda project, secrets: FakeStack(world, project, stack, secrets),
        ssh=lambda host, user, known_hosts, identity, first: FakeSsh(
            world, host, known_hosts, first
        ),
        kube=lambda kubeconfig: FakeKube(world, kubeconfig),
        forgejo=make_forgejo,
        git=git,
        deployer=deployer,
        runner=FakeTools(),
        clock=FakeClock(world),
        registry=RegistryClient(transport=httpx.MockTransport(world.registry.handle)),
    )
    return clients, git, deployer
