"""Whether Deployments and StatefulSets are rolled out, read from their status like
`kubectl rollout status` does, plus the pods' reasons when they are not."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from unrip_bootstrap.clients.kube import Kube

KINDS: Final = ("deployment", "statefulset")
BAD_WAITING_REASONS: Final = frozenset(
    {"CrashLoopBackOff", "ImagePullBackOff", "ErrImagePull", "CreateContainerConfigError"}
)


@dataclass(frozen=True)
class Workload:
    kind: str
    namespace: str
    name: str
    ready: bool
    reason: str
    images: tuple[str, ...]

    @property
    def ref(self) -> str:
        return f"{self.namespace}/{self.kind}/{self.name}"


def workload_state(kind: str, obj: dict[str, Any]) -> Workload:
    meta, spec, status = obj.get("metadata", {}), obj.get("spec", {}), obj.get("status", {})
    wanted = int(spec.get("replicas", 1))
    updated = int(status.get("updatedReplicas", 0))
    ready = int(status.get("readyReplicas", 0))
    reason = ""
    if int(status.get("observedGeneration", 0)) < int(meta.get("generation", 0)):
        reason = "the controller has not seen the latest spec yet"
    elif updated < wanted:
        reason = f"{updated}/{wanted} replicas updated"
    elif ready < wanted:
        reason = f"{ready}/{wanted} replicas ready"
    elif kind == "deployment" and int(status.get("availableReplicas", 0)) < wanted:
        reason = f"{status.get('availableReplicas', 0)}/{wanted} replicas available"
    containers = spec.get("template", {}).get("spec", {}).get("containers", [])
    return Workload(
        kind=kind,
        namespace=str(meta.get("namespace", "")),
        name=str(meta.get("name", "")),
        ready=not reason,
        reason=reason,
        images=tuple(str(container.get("image", "")) for container in containers),
    )


def workloads(kube: Kube, namespace: str) -> list[Workload]:
    return [workload_state(kind, obj) for kind in KINDS for obj in kube.items(kind, namespace)]


def pod_problems(kube: Kube, namespace: str) -> list[str]:
    """Containers stuck in a crash or pull loop (what a rollout timeout would not explain)."""
    problems = []
    for pod in kube.items("pod", namespace):
        name = pod.get("metadata", {}).get("name", "?")
        for container in pod.get("status", {}).get("containerStatuses", []) or []:
            waiting = (container.get("state") or {}).get("waiting") or {}
            if waiting.get("reason") in BAD_WAITING_REASONS:
                problems.append(
                    f"pod {namespace}/{name} container {container.get('name')}: {waiting['reason']}"
                )
    return problems
