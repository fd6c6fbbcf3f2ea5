"""The Forgejo Actions runner: host-mode jobs beside a rootless BuildKit daemon, no cluster rights.

One pod, three containers:
- ``runner``: ``forgejo-runner daemon`` in the job image (Debian, Python 3.11, git). Jobs run in
  this container ("host" mode, label ``names.FORGEJO_RUNNER_LABEL``) as uid 1000 with a
  read-only root filesystem, no capabilities and no Kubernetes token.
- ``buildkitd``: rootless BuildKit listening on the pod's loopback only; jobs build and push
  with ``buildctl`` (``BUILDKIT_HOST`` is set). No privileged container and no Docker socket.
- ``registry-proxy``: forwards the pod's 127.0.0.1:30300 to Forgejo, so pushes and clones use
  ``names.FORGEJO_ROOT_URL`` exactly like the node does (see ``forgejo``).

Registration is non-interactive: an init container runs ``create-runner-file`` with the shared
secret that Forgejo's init container registered; the file derives from the secret alone, so it
is rebuilt on every start and needs no volume.
"""

from __future__ import annotations

import shlex
from typing import Any, Final

import yaml

from unrip_platform import names
from unrip_platform.cluster.common import (
    SMALL,
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
from unrip_platform.cluster.forgejo import RUNNER_SECRET, RUNNER_SECRET_DIR
from unrip_platform.cluster.namespaces import RUNNER_APP
from unrip_platform.cluster.settings import ClusterSettings, Resources

NS: Final = names.NAMESPACE_PLATFORM
COMPONENT: Final = "ci"
RUNNER_UID: Final = 1000  # also the rootless BuildKit image's user
CONFIG_MAP: Final = "forgejo-runner"
DATA_DIR: Final = "/data"
TOOLS_DIR: Final = "/opt/unrip-tools"
BUILDKIT_ADDR: Final = "tcp://127.0.0.1:1234"
CACHE_PORT: Final = 4000
PROXY_PORT: Final = names.FORGEJO_REGISTRY_NODEPORT


def job_environment() -> dict[str, str]:
    """What every job sees, so workflows need no cluster knowledge of their own."""
    return {
        "BUILDKIT_HOST": BUILDKIT_ADDR,
        "UNRIP_FORGEJO_URL": names.FORGEJO_ROOT_URL,
        # Push here (plain HTTP on the pod's loopback); pods pull the same image by
        # names.IMAGE_REPOSITORY through the node's mirror.
        "UNRIP_REGISTRY_PUSH": f"{names.FORGEJO_LOOPBACK_HOST}/{names.FORGEJO_ORG}/unrip",
        "UNRIP_IMAGE_REPOSITORY": names.IMAGE_REPOSITORY,
        "UNRIP_KAFKA_BOOTSTRAP": names.KAFKA_BOOTSTRAP_IN_CLUSTER,
    }


def runner_config(settings: ClusterSettings) -> dict[str, Any]:
    return {
        "log": {"level": "info"},
        "runner": {
            "file": f"{DATA_DIR}/.runner",
            "capacity": settings.runner.capacity,
            "timeout": settings.runner.job_timeout,
            "envs": job_environment(),
            "labels": [f"{names.FORGEJO_RUNNER_LABEL}:host"],
        },
        "cache": {"enabled": True, "dir": f"{DATA_DIR}/cache", "port": CACHE_PORT},
        "host": {"workdir_parent": f"{DATA_DIR}/workdir"},
    }


def buildkitd_config() -> str:
    """The registry is plain HTTP on loopback (inside the pod); nothing else is trusted that way."""
    host = names.FORGEJO_LOOPBACK_HOST
    return f'[registry."{host}"]\n  http = true\n  insecure = true\n'


def _copy_tool(name: str, image: str, source: str) -> dict[str, Any]:
    return {
        "name": f"install-{name}",
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "command": ["cp", source, f"{TOOLS_DIR}/{name}"],
        "securityContext": container_security_context(),
        "resources": resources(SMALL),
        "volumeMounts": [mount("tools", TOOLS_DIR)],
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
        "runAsUser": RUNNER_UID,
        "runAsGroup": RUNNER_UID,
        "privileged": False,
        "allowPrivilegeEscalation": True,
        "readOnlyRootFilesystem": False,
        "seccompProfile": {"type": "Unconfined"},
        "appArmorProfile": {"type": "Unconfined"},
    }


def deployment(settings: ClusterSettings) -> Manifest:
    images = settings.images
    runner = settings.runner
    config = yaml.safe_dump(runner_config(settings), sort_keys=True)
    register = (
        f"mkdir -p {DATA_DIR}/home {DATA_DIR}/workdir && "
        f"exec forgejo-runner create-runner-file --instance {names.FORGEJO_IN_CLUSTER_URL} "
        f'--name {shlex.quote(runner.name)} --secret "$(cat {RUNNER_SECRET_DIR}/runner-secret)"'
    )
    env = [
        {"name": "HOME", "value": f"{DATA_DIR}/home"},
        {"name": "PATH", "value": f"{TOOLS_DIR}:/usr/local/bin:/usr/bin:/bin"},
        *({"name": key, "value": value} for key, value in job_environment().items()),
    ]
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(RUNNER_APP, NS, COMPONENT),
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": selector(RUNNER_APP)},
            "template": {
                "metadata": {
                    "labels": labels(RUNNER_APP, COMPONENT),
                    "annotations": {
                        "unrip.io/config-hash": content_hash(config, buildkitd_config())
                    },
                },
                "spec": {
                    "serviceAccountName": RUNNER_APP,
                    # Jobs must not inherit any Kubernetes identity: the deploy workflow uses
                    # the deployer's token from a Forgejo secret instead.
                    "automountServiceAccountToken": False,
                    "securityContext": pod_security_context(RUNNER_UID),
                    "initContainers": [
                        _copy_tool("forgejo-runner", images.runner, "/bin/forgejo-runner"),
                        _copy_tool("buildctl", images.buildkit, "/usr/bin/buildctl"),
                        {
                            "name": "register",
                            "image": images.runner,
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["/bin/sh", "-c", register],
                            "workingDir": DATA_DIR,
                            "securityContext": container_security_context(),
                            "resources": resources(SMALL),
                            "volumeMounts": [
                                mount("data", DATA_DIR),
                                mount("runner-secret", RUNNER_SECRET_DIR, read_only=True),
                            ],
                        },
                    ],
                    "containers": [
                        {
                            "name": "runner",
                            "image": images.job,
                            "imagePullPolicy": "IfNotPresent",
                            "command": [
                                f"{TOOLS_DIR}/forgejo-runner",
                                "daemon",
                                "--config",
                                "/etc/forgejo-runner/config.yml",
                            ],
                            "workingDir": DATA_DIR,
                            "env": env,
                            "securityContext": container_security_context(),
                            "resources": resources(runner.resources),
                            # The daemon's cache server answers as long as the daemon runs.
                            "readinessProbe": tcp_probe(CACHE_PORT),
                            "livenessProbe": tcp_probe(CACHE_PORT, period=30, failures=5),
                            "volumeMounts": [
                                mount("data", DATA_DIR),
                                mount("tools", TOOLS_DIR, read_only=True),
                                mount("tmp", "/tmp"),  # noqa: S108
                                mount(
                                    "config",
                                    "/etc/forgejo-runner/config.yml",
                                    read_only=True,
                                    sub_path="config.yml",
                                ),
                            ],
                        },
                        {
                            "name": "buildkitd",
                            "image": images.buildkit,
                            "imagePullPolicy": "IfNotPresent",
                            "args": [
                                "--addr",
                                BUILDKIT_ADDR,
                                "--oci-worker-no-process-sandbox",
                                "--config",
                                "/etc/buildkit/buildkitd.toml",
                            ],
                            "securityContext": _buildkitd_security_context(),
                            "resources": resources(runner.buildkit_resources),
                            "readinessProbe": exec_probe(
                                ["buildctl", "--addr", BUILDKIT_ADDR, "debug", "workers"],
                                period=15,
                            ),
                            "livenessProbe": exec_probe(
                                ["buildctl", "--addr", BUILDKIT_ADDR, "debug", "workers"],
                                failures=5,
                            ),
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
                        {
                            "name": "registry-proxy",
                            "image": images.socat,
                            "imagePullPolicy": "IfNotPresent",
                            "args": [
                                f"TCP-LISTEN:{PROXY_PORT},fork,reuseaddr",
                                f"TCP:{names.FORGEJO_SERVICE}.{NS}.svc.cluster.local:"
                                f"{names.FORGEJO_HTTP_PORT}",
                            ],
                            "ports": [{"name": "registry", "containerPort": PROXY_PORT}],
                            "securityContext": container_security_context(),
                            "resources": resources(
                                Resources(
                                    cpu_request="10m",
                                    cpu_limit="500m",
                                    memory_request="16Mi",
                                    memory_limit="64Mi",
                                )
                            ),
                            "readinessProbe": tcp_probe("registry"),
                            "livenessProbe": tcp_probe("registry", period=30),
                        },
                    ],
                    "volumes": [
                        {"name": "config", "configMap": {"name": CONFIG_MAP}},
                        {
                            "name": "runner-secret",
                            "secret": {"secretName": RUNNER_SECRET, "defaultMode": 0o440},
                        },
                        empty_dir("data", runner.workspace_size),
                        empty_dir("tools", "512Mi"),
                        empty_dir("tmp", "2Gi"),
                        empty_dir("buildkit-cache", runner.buildkit_cache_size),
                    ],
                },
            },
        },
    }


def runner_manifests(settings: ClusterSettings) -> list[Manifest]:
    return [
        service_account(RUNNER_APP, NS, COMPONENT),
        config_map(
            CONFIG_MAP,
            NS,
            COMPONENT,
            {
                "config.yml": yaml.safe_dump(runner_config(settings), sort_keys=True),
                "buildkitd.toml": buildkitd_config(),
            },
        ),
        deployment(settings),
    ]
