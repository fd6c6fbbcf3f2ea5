"""Rootless BuildKit as a service of its own, reached by the deploy agent alone.

It used to run inside the Actions runner's pod, where every job (any branch, any pull request)
could drive it. Now it is its own Deployment in the platform namespace (the only namespace
whose Pod Security admission allows rootless BuildKit's Unconfined seccomp/AppArmor), behind a
ClusterIP Service that a NetworkPolicy opens to the deploy agent's pods only (``agent``). It is
also the one component of the delivery path with internet egress (base images, PyPI, kubectl
for the agent's toolchain), so the agent itself needs none.

Pushes: BuildKit's client fetches registry tokens itself and Forgejo's token realm is
``names.FORGEJO_ROOT_URL`` (``127.0.0.1:30300``), so like the agent's pod this one carries a
loopback proxy to Forgejo and pushes to that same address.
"""

from __future__ import annotations

from typing import Any, Final

from unrip_platform import names
from unrip_platform.cluster.common import (
    Manifest,
    config_map,
    container_security_context,
    content_hash,
    empty_dir,
    exec_probe,
    labels,
    metadata,
    mount,
    pod_security_context,
    resources,
    selector,
    service_account,
    tcp_probe,
)
from unrip_platform.cluster.settings import ClusterSettings, Resources

NS: Final = names.NAMESPACE_PLATFORM
APP: Final = names.BUILDKIT_SERVICE
COMPONENT: Final = "build"
BUILDKIT_UID: Final = 1000  # the rootless image's user, which its sub-UID map is written for
CONFIG_MAP: Final = "buildkitd"
LISTEN: Final = f"tcp://0.0.0.0:{names.BUILDKIT_PORT}"
LOCAL_ADDR: Final = f"tcp://127.0.0.1:{names.BUILDKIT_PORT}"
PROXY_PORT: Final = names.FORGEJO_REGISTRY_NODEPORT
PROXY_RESOURCES: Final = Resources(
    cpu_request="10m", cpu_limit="500m", memory_request="16Mi", memory_limit="64Mi"
)


def buildkitd_config() -> str:
    """The registry is plain HTTP on loopback (inside the pod); nothing else is trusted that way."""
    host = names.FORGEJO_LOOPBACK_HOST
    return f'[registry."{host}"]\n  http = true\n  insecure = true\n'


def registry_proxy(image: str) -> dict[str, Any]:
    """socat from the pod's 127.0.0.1:30300 to Forgejo, so ``names.FORGEJO_ROOT_URL`` works in
    this pod exactly as on the node (the agent's pod carries the same container)."""
    return {
        "name": "registry-proxy",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "args": [
            f"TCP-LISTEN:{PROXY_PORT},fork,reuseaddr",
            f"TCP:{names.FORGEJO_SERVICE}.{NS}.svc.cluster.local:{names.FORGEJO_HTTP_PORT}",
        ],
        "ports": [{"name": "registry", "containerPort": PROXY_PORT}],
        "securityContext": container_security_context(),
        "resources": resources(PROXY_RESOURCES),
        "readinessProbe": tcp_probe("registry"),
        "livenessProbe": tcp_probe("registry", period=30),
    }


def _buildkitd_security_context() -> dict[str, Any]:
    """BuildKit's documented rootless settings (policy exceptions are listed with reasons).

    rootlesskit creates a user namespace and mounts inside it, which RuntimeDefault seccomp and
    the default AppArmor profile forbid, and it maps sub-UIDs with the setuid ``newuidmap``,
    which needs privilege escalation and the default capability bounding set. The daemon still
    runs as uid 1000, unprivileged, and its builds are confined to that user namespace.
    """
    return {
        "runAsNonRoot": True,
        "runAsUser": BUILDKIT_UID,
        "runAsGroup": BUILDKIT_UID,
        "privileged": False,
        "allowPrivilegeEscalation": True,
        "readOnlyRootFilesystem": False,
        "seccompProfile": {"type": "Unconfined"},
        "appArmorProfile": {"type": "Unconfined"},
    }


def deployment(settings: ClusterSettings) -> Manifest:
    images = settings.images
    probe = ["buildctl", "--addr", LOCAL_ADDR, "debug", "workers"]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(APP, NS, COMPONENT),
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": selector(APP)},
            "template": {
                "metadata": {
                    "labels": labels(APP, COMPONENT),
                    "annotations": {"unrip.io/config-hash": content_hash(buildkitd_config())},
                },
                "spec": {
                    "serviceAccountName": APP,
                    "automountServiceAccountToken": False,
                    "securityContext": pod_security_context(BUILDKIT_UID),
                    "containers": [
                        {
                            "name": "buildkitd",
                            "image": images.buildkit,
                            "imagePullPolicy": "IfNotPresent",
                            "args": [
                                "--addr",
                                LISTEN,
                                "--oci-worker-no-process-sandbox",
                                "--config",
                                "/etc/buildkit/buildkitd.toml",
                            ],
                            "ports": [{"name": "buildkit", "containerPort": names.BUILDKIT_PORT}],
                            "securityContext": _buildkitd_security_context(),
                            "resources": resources(settings.runner.buildkit_resources),
                            "readinessProbe": exec_probe(probe, period=15),
                            "livenessProbe": exec_probe(probe, failures=5),
                            "volumeMounts": [
                                mount("buildkit-cache", "/home/user/.local/share/buildkit"),
                                mount(
                                    "config",
                                    "/etc/buildkit/buildkitd.toml",
                                    read_only=True,
                                    sub_path="buildkitd.toml",
                                ),
                            ],
                        },
                        registry_proxy(images.socat),
                    ],
                    "volumes": [
                        {"name": "config", "configMap": {"name": CONFIG_MAP}},
                        empty_dir("buildkit-cache", settings.runner.buildkit_cache_size),
                    ],
                },
            },
        },
    }


def service() -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(names.BUILDKIT_SERVICE, NS, COMPONENT, label_name=APP),
        "spec": {
            "type": "ClusterIP",
            "selector": selector(APP),
            "ports": [{"name": "buildkit", "port": names.BUILDKIT_PORT, "targetPort": "buildkit"}],
        },
    }


def buildkit_manifests(settings: ClusterSettings) -> list[Manifest]:
    return [
        service_account(APP, NS, COMPONENT),
        config_map(CONFIG_MAP, NS, COMPONENT, {"buildkitd.toml": buildkitd_config()}),
        service(),
        deployment(settings),
    ]
