"""Commands on a node over OpenSSH, with strict host-key checking against the pinned host key.

Each node makes its own host key at first boot (it is never in user data). The bootstrap's
first connection to a server accepts and records the key it presents (``accept-new``, trust
on first use; see docs/security.md for the trade-off); every later one requires that key.
Never a prompt, never manual SSH.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final, Protocol

from unrip_bootstrap.clients.process import CommandResult, CommandRunner

# ssh's own exit status for "could not connect / authenticate" (the remote command never ran).
SSH_CONNECTION_FAILED: Final = 255


class Ssh(Protocol):
    def run(self, command: str, *, timeout_s: float = 60) -> CommandResult: ...


class OpenSshClient:
    """`ssh` in batch mode: never prompts, fails instead of asking to trust a host key."""

    def __init__(
        self,
        host: str,
        user: str,
        known_hosts: Path,
        runner: CommandRunner,
        *,
        identity: Path | None = None,
        accept_new: bool = False,
        ssh: str = "ssh",
    ) -> None:
        self._host = host
        self._user = user
        self._known_hosts = known_hosts
        self._identity = identity
        self._runner = runner
        self._ssh = ssh
        self._accept_new = accept_new

    def argv(self, command: str) -> list[str]:
        options = {
            "BatchMode": "yes",
            # accept-new: record an unknown host's key (first contact) but refuse a changed one.
            "StrictHostKeyChecking": "accept-new" if self._accept_new else "yes",
            "UserKnownHostsFile": str(self._known_hosts),
            "GlobalKnownHostsFile": "/dev/null",
            "ConnectTimeout": "10",
            "ServerAliveInterval": "10",
            "LogLevel": "ERROR",
        }
        if self._identity is not None:
            options["IdentitiesOnly"] = "yes"
        argv = [self._ssh]
        for key, value in options.items():
            argv += ["-o", f"{key}={value}"]
        if self._identity is not None:
            argv += ["-i", str(self._identity)]
        return [*argv, f"{self._user}@{self._host}", "--", command]

    def run(self, command: str, *, timeout_s: float = 60) -> CommandResult:
        return self._runner.run(self.argv(command), timeout_s=timeout_s)
