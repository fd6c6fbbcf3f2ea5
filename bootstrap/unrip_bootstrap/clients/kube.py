"""Kubernetes through `kubectl` with the bootstrap's kubeconfig, behind a small interface.

Secret data goes to kubectl on stdin (`apply -f -`), never on its command line.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import threading
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Final, Protocol

from unrip_bootstrap.clients.process import CommandRunner, ToolMissingError

FIELD_MANAGER: Final = "unrip-bootstrap"


class KubeError(RuntimeError):
    """kubectl failed; the message carries its error output."""


class Kube(Protocol):
    def readyz(self) -> str: ...

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None: ...

    def items(self, kind: str, namespace: str) -> list[dict[str, Any]]: ...

    def apply(self, manifest: Mapping[str, Any]) -> None: ...

    def rollout_status(self, kind: str, namespace: str, name: str, timeout_s: float) -> None: ...

    def port_forward(
        self, namespace: str, service: str, local_port: int, remote_port: int
    ) -> AbstractContextManager[str]: ...

    def pod_json(self, namespace: str, pod: str, port: int, path: str) -> dict[str, Any]: ...


class KubectlClient:
    """`kubectl --kubeconfig <file> ...` for every call."""

    def __init__(self, kubeconfig: Path, runner: CommandRunner, kubectl: str = "kubectl") -> None:
        self._kubeconfig = kubeconfig
        self._runner = runner
        self._kubectl = kubectl

    def argv(self, *args: str) -> list[str]:
        return [self._kubectl, "--kubeconfig", str(self._kubeconfig), *args]

    def _run(self, *args: str, stdin: str | None = None, timeout_s: float = 60) -> str:
        result = self._runner.run(self.argv(*args), stdin=stdin, timeout_s=timeout_s)
        if not result.ok:
            raise KubeError(f"kubectl {args[0]} failed: {result.stderr.strip() or result.stdout}")
        return result.stdout

    def readyz(self) -> str:
        return self._run("get", "--raw", "/readyz", timeout_s=20).strip()

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        scope = ("--namespace", namespace) if namespace else ()  # "": cluster-scoped
        argv = self.argv("get", kind, name, *scope, "--output", "json")
        result = self._runner.run(argv, timeout_s=60)
        if result.ok:
            loaded: dict[str, Any] = json.loads(result.stdout)
            return loaded
        if "NotFound" in result.stderr or "not found" in result.stderr:
            return None
        raise KubeError(f"kubectl get {kind}/{name} failed: {result.stderr.strip()}")

    def items(self, kind: str, namespace: str) -> list[dict[str, Any]]:
        out = self._run("get", kind, "--namespace", namespace, "--output", "json")
        items: list[dict[str, Any]] = json.loads(out).get("items", [])
        return items

    def apply(self, manifest: Mapping[str, Any]) -> None:
        self._run(
            "apply",
            "--server-side",
            "--field-manager",
            FIELD_MANAGER,
            "--filename",
            "-",
            stdin=json.dumps(manifest),
        )

    def rollout_status(self, kind: str, namespace: str, name: str, timeout_s: float) -> None:
        self._run(
            "rollout",
            "status",
            f"{kind}/{name}",
            "--namespace",
            namespace,
            f"--timeout={int(timeout_s)}s",
            timeout_s=timeout_s + 30,
        )

    def port_forward_argv(
        self, namespace: str, service: str, local_port: int, remote_port: int
    ) -> list[str]:
        return self._forward_argv(namespace, f"svc/{service}", local_port, remote_port)

    def _forward_argv(
        self, namespace: str, target: str, local_port: int, remote_port: int
    ) -> list[str]:
        return self.argv(
            "port-forward",
            "--namespace",
            namespace,
            "--address",
            "127.0.0.1",
            target,
            f"{local_port}:{remote_port}",
        )

    def pod_json(self, namespace: str, pod: str, port: int, path: str) -> dict[str, Any]:
        """GET ``path`` from one pod's port through a port-forward (kubelet to the pod's own
        network namespace: the API server's proxy would be refused by the apps' network
        policies, which admit only the metrics scraper)."""
        local_port = _free_port()
        with self._forwarded(self._forward_argv(namespace, f"pod/{pod}", local_port, port)):
            url = f"http://127.0.0.1:{local_port}/{path.lstrip('/')}"
            try:
                with urllib.request.urlopen(url, timeout=10) as response:
                    body = json.loads(response.read())
            except (OSError, ValueError) as exc:
                raise KubeError(f"GET {path} from pod {namespace}/{pod}: {exc}") from None
        if not isinstance(body, dict):
            raise KubeError(f"GET {path} from pod {namespace}/{pod}: not a JSON object")
        return body

    @contextlib.contextmanager
    def port_forward(
        self, namespace: str, service: str, local_port: int, remote_port: int
    ) -> Iterator[str]:
        """Forward `127.0.0.1:local_port` to the service while the block runs.

        An existing listener on the port (an operator's own port-forward) is used as it is.
        """
        url = f"http://127.0.0.1:{local_port}/"
        if _port_open(local_port):
            yield url
            return
        with self._forwarded(self.port_forward_argv(namespace, service, local_port, remote_port)):
            yield url

    @contextlib.contextmanager
    def _forwarded(self, argv: list[str]) -> Iterator[None]:
        local_port = int(argv[-1].split(":", 1)[0])
        try:
            process = subprocess.Popen(  # our own child, stopped below by its handle
                argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        except FileNotFoundError as exc:
            raise ToolMissingError("kubectl is not installed (not found on PATH)") from exc
        try:
            _await_port(process, local_port)
            yield
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _await_port(process: subprocess.Popen[str], port: int, timeout_s: float = 30) -> None:
    """Wait (bounded) until kubectl reports the forward: it prints 'Forwarding from ...'."""
    assert process.stdout is not None
    stdout = process.stdout
    first_line: list[str] = []
    reader = threading.Thread(target=lambda: first_line.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout_s)
    line = first_line[0] if first_line else ""
    if "Forwarding from" in line and _port_open(port):
        return
    # Its stdout closing is not its exit: wait for it, or its stderr (the reason) is lost.
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    error = process.stderr.read() if process.stderr else ""
    raise KubeError(
        f"kubectl port-forward did not start within {timeout_s:.0f} s: {(line + error).strip()}"
    )
