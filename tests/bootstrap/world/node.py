"""The node over SSH: `FakeSsh` is an `Ssh`."""

from __future__ import annotations

from pathlib import Path

from unrip_bootstrap.clients.process import CommandResult
from unrip_bootstrap.recovery import VOLUME_TOKEN_FILE
from unrip_bootstrap.steps.node import READYZ_COMMAND

from tests.bootstrap.world.pulumi import node_kubeconfig
from tests.bootstrap.world.state import World


class FakeSsh:
    """The server over SSH, checking its host key as OpenSSH does: on first contact
    (``accept-new``) an empty known_hosts takes the presented key; otherwise it must match."""

    def __init__(self, world: World, host: str, known_hosts: Path, first_contact: bool) -> None:
        self.world = world
        self.host = host
        self.known_hosts = known_hosts
        self.first_contact = first_contact

    def run(self, command: str, *, timeout_s: float = 60) -> CommandResult:
        world, server = self.world, self.world.server
        if world.failing("ssh.unreachable") or server is None:
            return CommandResult(255, "", "ssh: connect to host 203.0.113.10 port 22: timed out")
        if self.first_contact and not self.known_hosts.read_text().strip():
            self.known_hosts.write_text(world.presented_host_key + "\n")
        if self.known_hosts.read_text().strip() != world.presented_host_key:
            return CommandResult(255, "", "Host key verification failed.")
        if command.startswith("if test -e"):
            if server.boot_polls_left > 0:
                server.boot_polls_left -= 1
                return CommandResult(0, "booting\n", "")
            return CommandResult(0, "ready\n" if world.node_ready else "failed\n", "")
        if command.startswith("cat ") and "k3s.yaml" in command:
            return CommandResult(0, node_kubeconfig(world), "")
        if command == f"cat {VOLUME_TOKEN_FILE}":
            if world.datastore_token is None:
                return CommandResult(1, "", "cat: No such file or directory")
            return CommandResult(0, f"K10deadbeef::server:{world.datastore_token}\n", "")
        if command.startswith("cat "):  # the failure report
            reason = "k3s: bootstrap data already found and encrypted with different token"
            return CommandResult(0, f"step=k3s-ready\n{reason}\n", "")
        if command == READYZ_COMMAND:
            return CommandResult(0, "ok\n", "") if world.node_ready else CommandResult(1, "", "")
        raise AssertionError(f"unexpected remote command {command!r}")
