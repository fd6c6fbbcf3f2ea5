"""The cluster: `FakeKube` is a `Kube`."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import yaml
from unrip_bootstrap.clients.kube import KubeError
from unrip_platform import names

from tests.bootstrap.world.state import AGENT_KEY, ENDPOINT, World


class FakeKube:
    """The cluster through the bootstrap's kubeconfig, which must be right to get anywhere."""

    def __init__(self, world: World, kubeconfig: Path) -> None:
        self.world = world
        self.kubeconfig = kubeconfig

    def _connect(self) -> None:
        document = yaml.safe_load(self.kubeconfig.read_text())
        assert self.kubeconfig.stat().st_mode & 0o777 == 0o600
        cluster = document["clusters"][0]["cluster"]
        if cluster["server"] != ENDPOINT or not self.world.node_ready:
            raise KubeError("kubectl get failed: dial tcp 203.0.113.10:6443: connection refused")
        if cluster["certificate-authority-data"] != self.world.cluster_ca:
            raise KubeError("kubectl get failed: x509: certificate signed by unknown authority")

    def readyz(self) -> str:
        self._connect()
        if message := self.world.failing("kube.readyz"):
            raise KubeError(message)
        return "ok"

    def get(self, kind: str, namespace: str, name: str) -> dict[str, Any] | None:
        self._connect()
        found = self.world.objects.get((kind, namespace, name))
        if (kind, namespace, name) == AGENT_KEY and found is not None:
            self.world.agent_poll()
            if not self.world.agent_ready():
                waiting = {"readyReplicas": 0, "availableReplicas": 0}
                found = {**found, "status": {**found["status"], **waiting}}
        return json.loads(json.dumps(found)) if found is not None else None

    def items(self, kind: str, namespace: str) -> list[dict[str, Any]]:
        self._connect()
        if kind == "pod":
            pods = [
                {
                    "metadata": {"name": name, "labels": {"app.kubernetes.io/name": service}},
                    "status": {"phase": "Running"},
                }
                for name, (service, _) in self.world.app_pods.items()
                if namespace == names.NAMESPACE_APPS
            ]
            if not self.world.crashing_pod:
                return pods
            waiting = {"state": {"waiting": {"reason": "CrashLoopBackOff"}}, "name": "executor"}
            return [
                {"metadata": {"name": "executor-0"}, "status": {"containerStatuses": [waiting]}},
                *pods,
            ]
        return [
            json.loads(json.dumps(obj))
            for (k, ns, _), obj in self.world.objects.items()
            if k == kind and ns == namespace
        ]

    def apply(self, manifest: Mapping[str, Any]) -> None:
        self._connect()
        meta = manifest["metadata"]
        message = self.world.failing("kube.apply") or self.world.failing(
            f"kube.apply:{meta['name']}"
        )
        if message:
            raise KubeError(f"kubectl apply failed: {message}")
        self.world.mutate(f"kube.apply:{manifest['kind']}/{meta['name']}")
        self.world.put(manifest["kind"].lower(), meta["namespace"], meta["name"], dict(manifest))

    def rollout_status(self, kind: str, namespace: str, name: str, timeout_s: float) -> None:
        self._connect()

    def pod_json(self, namespace: str, pod: str, port: int, path: str) -> dict[str, Any]:
        self._connect()
        assert (namespace, port, path) == (names.NAMESPACE_APPS, 8080, "status")
        _, body = self.world.app_pods[pod]
        if body is None:
            raise KubeError(f"GET status from pod {namespace}/{pod}: connection refused")
        copied: dict[str, Any] = json.loads(json.dumps(body))
        return copied

    @contextlib.contextmanager
    def port_forward(
        self, namespace: str, service: str, local_port: int, remote_port: int
    ) -> Iterator[str]:
        self._connect()
        assert (namespace, service, local_port) == ("platform", "forgejo-http", 30300)
        if not self.world.platform_up:
            raise KubeError('services "forgejo-http" not found')
        yield names.FORGEJO_ROOT_URL
