"""Child processes for local runs: one per service, each in its own session, none left behind.

Children live in their own sessions so Ctrl-C reaches only the supervisor, which then stops
them in pipeline order; on Linux they also get SIGTERM if the supervisor itself dies.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from unrip.runtime.signing import CommandSigner
from unrip.venues import registry

from unrip_dev.broker import free_port
from unrip_dev.orphans import die_with_parent


def http_json(url: str, timeout: float = 1.0) -> tuple[int | None, Any]:
    """GET a JSON endpoint; (None, reason) when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback)
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read())
        except ValueError:
            return exc.code, None
    except (OSError, ValueError) as exc:
        return None, str(exc)


def http_text(url: str, timeout: float = 1.0) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback)
            return str(response.read().decode())
    except (OSError, ValueError):
        return None


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = field(default=None, repr=False)
    _terminated: bool = field(default=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._terminated = False
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            self.argv,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=die_with_parent(),
        )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def ready(self) -> bool:
        status, _ = http_json(f"{self.url}/readyz", timeout=0.5)
        return status == 200

    def signal(self, sig: signal.Signals) -> None:
        if self.running and self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(sig)
            if sig is signal.SIGTERM:
                self._terminated = True

    def stop(self, timeout_s: float) -> int | None:
        """SIGTERM (once), wait, SIGKILL as a last resort; returns the exit code."""
        if self.process is None:
            return None
        if not self._terminated:
            self.signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        if self._log is not None:
            self._log.close()
        return code


class Supervisor:
    def __init__(self, run_dir: Path, base_env: Mapping[str, str]) -> None:
        self.run_dir = run_dir
        self.base_env = dict(base_env)
        self.children: dict[str, Child] = {}

    def spawn(
        self, name: str, service: str, port: int, env: Mapping[str, str] | None = None
    ) -> Child:
        child_env = {**self.base_env, **(env or {})}
        child_env.update(
            UNRIP_HTTP_PORT=str(port), UNRIP_HTTP_HOST="127.0.0.1", UNRIP_INSTANCE_ID=name
        )
        child = Child(
            name,
            [sys.executable, "-m", "unrip", service],
            child_env,
            port,
            self.run_dir / f"{name}.log",
        )
        child.start()
        self.children[name] = child
        return child

    def spawn_paper_venue(
        self, db: Path, port: int | None = None, env: Mapping[str, str] | None = None
    ) -> Child:
        """The paper venue, its book in ``db``; ``port`` fixed when it must survive restarts."""
        venue_env = {"UNRIP_PAPER_DB_PATH": str(db), **(env or {})}
        return self.spawn("paper-venue", "paper-venue", port or free_port(), venue_env)

    def spawn_executor(self, name: str, venue_url: str) -> Child:
        """An executor trading on the paper venue at ``venue_url``."""
        return self.spawn(name, "executor", free_port(), {"UNRIP_PAPER_VENUE_URL": venue_url})

    def wait_ready(self, names: list[str], timeout_s: float) -> list[str]:
        """Names that did not become ready (empty on success); fails fast on a dead child."""
        deadline = time.monotonic() + timeout_s
        pending = list(names)
        while pending and time.monotonic() < deadline:
            for name in list(pending):
                child = self.children[name]
                if not child.running:
                    return [
                        f"{name} exited with code {child.process.poll() if child.process else '?'}"
                    ]
                if child.ready():
                    pending.remove(name)
            if pending:
                time.sleep(0.1)  # polling HTTP probes of processes that are starting
        return [f"{name} not ready after {timeout_s:.0f}s" for name in pending]

    def stop(self, names: list[str], timeout_s: float) -> dict[str, int | None]:
        for name in names:
            self.children[name].signal(signal.SIGTERM)
        return {name: self.children[name].stop(timeout_s) for name in names}

    def stop_all(self, timeout_s: float) -> dict[str, int | None]:
        return self.stop([n for n, c in reversed(self.children.items()) if c.process], timeout_s)

    def log_tail(self, name: str, lines: int = 5) -> str:
        path = self.children[name].log_path
        try:
            return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def env_without_unrip() -> dict[str, str]:
    """The parent's environment minus UNRIP_* (a local run sets its own)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("UNRIP_")}


# The reactor's and executor's command key on a workstation (runtime/signing.py): not a
# secret, only what makes local runs exercise the executor's check exactly as the cluster does.
LOCAL_COMMAND_SIGNING_KEY = "unrip-local-development-command-signing-key"


def local_signer() -> CommandSigner:
    """Signs synthetic commands (chaos, bench, tests) the way the local reactor does."""
    return CommandSigner(LOCAL_COMMAND_SIGNING_KEY.encode())


def venue_env() -> dict[str, str]:
    """The operator's venue settings (``UNRIP_<VENUE>_*``: relay URL, JWT, token filter...).

    A local run replaces the bus and service settings, but the credentials and options of a
    real venue are the operator's: ``invoke dev --source relay`` needs the relay JWT in the
    ingest. The paper venue is the local run's own, so its settings are not inherited.
    """
    prefixes = tuple(f"UNRIP_{name.upper()}_" for name in registry.available() if name != "paper")
    return {k: v for k, v in os.environ.items() if k.startswith(prefixes)}


# Local runs want quick rebalances: Tansu holds a JoinGroup for half a session.
LOCAL_SESSION_TIMEOUT_MS = 6000
LOCAL_HEARTBEAT_INTERVAL_MS = 500


def local_env(
    bootstrap_servers: str, *, session_timeout_ms: int = LOCAL_SESSION_TIMEOUT_MS
) -> dict[str, str]:
    """The environment of services on the local broker: no inherited UNRIP_* but the venues'."""
    return {
        **env_without_unrip(),
        **venue_env(),
        "UNRIP_KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
        "UNRIP_KAFKA_SESSION_TIMEOUT_MS": str(session_timeout_ms),
        "UNRIP_KAFKA_HEARTBEAT_INTERVAL_MS": str(LOCAL_HEARTBEAT_INTERVAL_MS),
        "UNRIP_COMMAND_SIGNING_KEY": LOCAL_COMMAND_SIGNING_KEY,
    }
