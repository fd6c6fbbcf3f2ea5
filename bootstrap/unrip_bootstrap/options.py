"""How a bootstrap run is set up: which stack, where things live, how long to wait."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from unrip_platform import names

from unrip_bootstrap.state import StatePaths


@dataclass(frozen=True)
class Timeouts:
    """Upper bounds of every wait (seconds); each wait also says what it last saw."""

    node_boot_s: float = 900  # first boot: cloud-init, k3s download and start
    api_ready_s: float = 300
    platform_ready_s: float = 600  # Forgejo answering after the cluster stack
    runner_online_s: float = 300
    workflow_s: float = 1800  # the deploy agent: poll, build, deploy, roll out
    rollout_s: float = 600
    poll_s: float = 10


@dataclass(frozen=True)
class BootstrapOptions:
    repo_root: Path
    stack: str = "prod"
    overlay: str = names.OVERLAY_PRODUCTION
    timeouts: Timeouts = field(default_factory=Timeouts)
    # Disaster recovery: rebuild servers so changed user data (a new volume, a recovered
    # token) takes effect. Off in ordinary runs: no bootstrap rebuilds a server by surprise.
    apply_server_changes: bool = False
    # Resolve every tag-only platform image again and replace its pinned digest (printed old ->
    # new). Off in ordinary runs: a pinned digest changes only when the operator asks.
    repin_images: bool = False

    @property
    def secrets_dir(self) -> Path:
        return self.repo_root / ".secrets"

    @property
    def state_paths(self) -> StatePaths:
        return StatePaths(self.repo_root / ".state" / self.stack)

    @property
    def default_backend(self) -> str:
        return f"file://{self.repo_root / '.state' / 'pulumi'}"

    def project_dir(self, project: str) -> Path:
        return self.repo_root / "platform" / project
