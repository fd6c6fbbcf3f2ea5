"""The workstation's clone of this repository: its HEAD, and a push to Forgejo.

Credentials reach git through its environment (`GIT_CONFIG_*`), never its command line or the
clone's config, so they are neither visible in the process list nor left behind.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Protocol

from unrip_bootstrap.clients.process import CommandRunner


class GitError(RuntimeError):
    """git failed; the message carries its error output."""


class Git(Protocol):
    def head(self) -> str: ...

    def is_dirty(self) -> bool: ...

    def push(self, url: str, refspec: str, *, username: str, password: str) -> None: ...


class GitCli:
    def __init__(self, repo: Path, runner: CommandRunner, git: str = "git") -> None:
        self._repo = repo
        self._runner = runner
        self._git = git

    def _argv(self, *args: str) -> list[str]:
        return [self._git, "-C", str(self._repo), *args]

    def head(self) -> str:
        result = self._runner.run(self._argv("rev-parse", "HEAD"))
        if not result.ok:
            raise GitError(f"git rev-parse HEAD failed: {result.stderr.strip()}")
        return result.stdout.strip()

    def is_dirty(self) -> bool:
        result = self._runner.run(self._argv("status", "--porcelain", "--untracked-files=no"))
        return bool(result.stdout.strip())

    def push_argv(self, url: str, refspec: str) -> list[str]:
        return self._argv("push", "--porcelain", url, refspec)

    @staticmethod
    def push_environment(url: str, username: str, password: str) -> dict[str, str]:
        """An Authorization header for `url` only, as one-shot git config in the environment."""
        basic = base64.b64encode(f"{username}:{password}".encode()).decode()
        return {
            "GIT_TERMINAL_PROMPT": "0",
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": f"http.{url}.extraHeader",
            "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
        }

    def push(self, url: str, refspec: str, *, username: str, password: str) -> None:
        result = self._runner.run(
            self.push_argv(url, refspec),
            env=self.push_environment(url, username, password),
            timeout_s=600,
        )
        if not result.ok:
            raise GitError(f"git push failed: {result.stderr.strip() or result.stdout.strip()}")
