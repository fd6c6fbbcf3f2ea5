"""A workstation checkout with filled-in `.secrets/` (recognisable values) and the fake world."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import base58
import pytest
import stamina
import yaml
from nacl.signing import SigningKey
from rich.console import Console
from unrip_bootstrap import commands
from unrip_bootstrap.clients.registry import ATTEMPTS
from unrip_bootstrap.context import Clients
from unrip_bootstrap.options import BootstrapOptions

from tests.bootstrap.world import WORLD_SECRETS, FakeDeployer, FakeGit, World, fake_clients
from tests.fake_keys import fake_private_key

# Recognisable secret values of the operator's files.
HCLOUD_TOKEN = "HcloudTokenSentinel" + "A" * 45
PASSPHRASE = "PassphraseSentinel-9Qz"
JWT = (
    base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    .decode()
    .rstrip("=")
    + ".JwtPayloadSentinel.c2lnbmF0dXJl"
)
_SEED = bytes(range(1, 33))
SIGNING_KEY = "ed25519:" + base58.b58encode(_SEED + bytes(SigningKey(_SEED).verify_key)).decode()
PRIVATE_KEY_BODY = "PrivateKeySentinelb3BlbnNzaC1rZXktdjE"
PUBLIC_KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILNcLImUDnVwjW4lPgnD6kq1JJod3pWUUzeOr9A8Hz+R "
    "operator@example"
)
FILE_SECRETS = (HCLOUD_TOKEN, PASSPHRASE, JWT, SIGNING_KEY, PRIVATE_KEY_BODY)
ALL_SECRETS = FILE_SECRETS + WORLD_SECRETS
# The bootstrap's steps, in the order a run reports them.
STEPS = (
    "preflight",
    "hetzner",
    "node",
    "kubeconfig",
    "images",
    "cluster",
    "app-secrets",
    "forgejo",
    "push",
    "deliver",
    "verify",
)


def secret_files(private_key: Path) -> dict[str, dict[str, Any]]:
    return {
        "pulumi-state.yaml": {"config_passphrase": PASSPHRASE},
        "hetzner.yaml": {
            "hcloud_token": HCLOUD_TOKEN,
            "settings": {"location": "fsn1", "k3sInstallScriptSha256": "ab" * 32},
        },
        "ssh.yaml": {"public_keys": [PUBLIC_KEY], "private_key_file": str(private_key)},
        "operator.yaml": {"cidrs": ["198.51.100.7/32"]},
        "near-relay.yaml": {"jwt": JWT},
        "venue-keys.yaml": {"solver_account_id": "solver.near", "signing_key": SIGNING_KEY},
    }


def write_secrets(directory: Path, files: dict[str, dict[str, Any]]) -> None:
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    for name, content in files.items():
        path = directory / name
        path.write_text(yaml.safe_dump(content))
        path.chmod(0o600)


@pytest.fixture(autouse=True)
def retries_without_pauses() -> Iterator[None]:
    """stamina's test mode: every retry policy keeps its attempts but does not wait."""
    with stamina.set_testing(True, attempts=ATTEMPTS, cap=True):
        yield


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A checkout whose `.secrets/` is completely and validly filled in."""
    root = tmp_path / "repo"
    key = tmp_path / "id_ed25519"
    key.write_text(fake_private_key(PRIVATE_KEY_BODY))
    key.chmod(0o600)
    write_secrets(root / ".secrets", secret_files(key))
    return root


@dataclass
class Workstation:
    """The operator at the workstation: runs commands, reads what they printed and left."""

    repo: Path
    world: World
    clients: Clients
    git: FakeGit
    deployer: FakeDeployer
    output: io.StringIO = field(default_factory=io.StringIO)
    answers: list[str] = field(default_factory=list)

    @property
    def options(self) -> BootstrapOptions:
        return BootstrapOptions(repo_root=self.repo)

    def console(self) -> Console:
        return Console(file=self.output, width=200, no_color=True, force_terminal=False)

    def bootstrap(self, **kwargs: Any) -> int:
        return commands.bootstrap(self.options, self.clients, self.console(), **kwargs)

    def status(self) -> int:
        return commands.status(self.options, self.clients, self.console())

    def confirm(self, answer: str) -> Callable[[str], str]:
        def ask(question: str) -> str:
            self.answers.append(question)
            return answer

        return ask

    def destroy(self, *, delete_volume: bool = False, answer: str = "prod") -> int:
        return commands.destroy(
            self.options,
            self.clients,
            self.console(),
            delete_volume=delete_volume,
            confirm=self.confirm(answer),
        )

    def dr(self, scenario: str, answer: str = "prod") -> int:
        return commands.dr(
            self.options,
            self.clients,
            self.console(),
            scenario=scenario,
            confirm=self.confirm(answer),
        )

    def printed(self) -> str:
        return self.output.getvalue()

    def take_output(self) -> str:
        text = self.output.getvalue()
        self.output.seek(0)
        self.output.truncate()
        return text

    @property
    def state_dir(self) -> Path:
        return self.options.state_paths.root

    def checkpoints(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.options.state_paths.checkpoints.read_text())
        return loaded

    def everything_written(self) -> str:
        """Console output and every file the bootstrap wrote, except the kubeconfig itself."""
        files = [
            path.read_text()
            for path in self.state_dir.rglob("*")
            if path.is_file() and path.name != "kubeconfig"
        ]
        return "\n".join([self.printed(), *files])


@pytest.fixture
def station(repo: Path) -> Workstation:
    world = World()
    clients, git, deployer = fake_clients(world)
    return Workstation(repo, world, clients, git, deployer)


@pytest.fixture
def converged(station: Workstation) -> Workstation:
    """A workstation after one successful bootstrap."""
    assert station.bootstrap() == 0, station.printed()
    station.take_output()
    return station
