"""The Forgejo Actions runner: untrusted jobs, one at a time, each in a fresh home, no credentials.

Every job this runner takes is untrusted: a branch or pull request controls its own workflow
file (``runs-on`` included), so nothing here may be worth stealing (docs/security.md):
- jobs run in the ``runner`` container ("host" mode, label ``names.FORGEJO_RUNNER_LABEL``) as
  uid 1000 with a read-only root filesystem, no capabilities, no Kubernetes token, no Docker
  socket, no BuildKit and no registry credential; the pod's NetworkPolicy reaches Forgejo and
  the internet's web ports only (not the API server, never link-local);
- ``forgejo-runner one-job`` takes one job at a time; before each the wrapper makes a new
  ``$HOME`` and workdir under ``/data/job`` (an emptyDir, never a host path) and after it kills
  whatever the job left running, so nothing one job leaves reaches the next; the actions cache
  is off for the same reason;
- it is registered to the one repository (Forgejo's side: ``forgejo.register_runner_script``),
  not to the instance.
``registry-proxy`` forwards the pod's 127.0.0.1:30300 to Forgejo, so checkouts use
``names.FORGEJO_ROOT_URL`` exactly like the node does (see ``forgejo``).

Registration is non-interactive: an init container runs ``create-runner-file`` with the shared
secret that Forgejo registered; the file derives from the secret alone, so it is rebuilt on
every start and needs no volume.
"""

from __future__ import annotations

import shlex
from typing import Any, Final

import yaml

from unrip_platform import names
from unrip_platform.cluster.buildkit import registry_proxy
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
)
from unrip_platform.cluster.forgejo import RUNNER_SECRET, RUNNER_SECRET_DIR
from unrip_platform.cluster.namespaces import RUNNER_APP
from unrip_platform.cluster.settings import ClusterSettings

NS: Final = names.NAMESPACE_PLATFORM
COMPONENT: Final = "ci"
RUNNER_UID: Final = 1000
CONFIG_MAP: Final = "forgejo-runner"
CONFIG_PATH: Final = "/etc/forgejo-runner/config.yml"
DATA_DIR: Final = "/data"
RUNNER_FILE: Final = f"{DATA_DIR}/.runner"
JOB_DIR: Final = f"{DATA_DIR}/job"  # wiped before every job: its home and workdir
JOB_HOME: Final = f"{JOB_DIR}/home"
TOOLS_DIR: Final = "/opt/unrip-tools"


def job_environment() -> dict[str, str]:
    """What every job sees: where to check out from. No credential and no build service."""
    return {
        "UNRIP_FORGEJO_URL": names.FORGEJO_ROOT_URL,
        "UNRIP_KAFKA_BOOTSTRAP": names.KAFKA_BOOTSTRAP_IN_CLUSTER,
    }


def runner_config(settings: ClusterSettings) -> dict[str, Any]:
    return {
        "log": {"level": "info"},
        "runner": {
            "file": RUNNER_FILE,
            "capacity": settings.runner.capacity,
            "timeout": settings.runner.job_timeout,
            "envs": job_environment(),
            "labels": [f"{names.FORGEJO_RUNNER_LABEL}:host"],
        },
        # A cache shared by every branch is a way for one job to plant files in another's.
        "cache": {"enabled": False},
        "host": {"workdir_parent": f"{JOB_DIR}/workdir"},
    }


def job_loop_script() -> str:
    """The runner container's command: one job at a time, each in a fresh home and workdir.

    Runs as the container's PID 1, so ``kill -KILL -1`` reaches every other process in the
    container: whatever a job started in the background dies before the next job starts.
    """
    return "\n".join(
        [
            "set -u",
            "while :; do",
            f"  chmod -R u+rwX {JOB_DIR} 2>/dev/null || true",
            f"  rm -rf {JOB_DIR}",
            f"  mkdir -p {JOB_HOME} {JOB_DIR}/workdir",
            f"  HOME={JOB_HOME} {TOOLS_DIR}/forgejo-runner one-job --config {CONFIG_PATH} "
            '|| echo "runner: one-job exited $?"',
            "  kill -KILL -1 2>/dev/null || true",
            "  sleep 5",
            "done",
        ]
    )


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


def deployment(settings: ClusterSettings) -> Manifest:
    images = settings.images
    runner = settings.runner
    config = yaml.safe_dump(runner_config(settings), sort_keys=True)
    register = (
        f"exec forgejo-runner create-runner-file --instance {names.FORGEJO_IN_CLUSTER_URL} "
        f'--name {shlex.quote(runner.name)} --secret "$(cat {RUNNER_SECRET_DIR}/runner-secret)"'
    )
    env = [
        {"name": "HOME", "value": JOB_HOME},
        {"name": "PATH", "value": f"{TOOLS_DIR}:/usr/local/bin:/usr/bin:/bin"},
        *({"name": key, "value": value} for key, value in job_environment().items()),
    ]
    registered = exec_probe(["test", "-s", RUNNER_FILE], period=30)
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
                        "unrip.io/config-hash": content_hash(config, job_loop_script())
                    },
                },
                "spec": {
                    "serviceAccountName": RUNNER_APP,
                    # Jobs must not inherit any Kubernetes identity: nothing in CI deploys.
                    "automountServiceAccountToken": False,
                    "securityContext": pod_security_context(RUNNER_UID),
                    "initContainers": [
                        _copy_tool("forgejo-runner", images.runner, "/bin/forgejo-runner"),
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
                            "command": ["/bin/sh", "-c", job_loop_script()],
                            "workingDir": DATA_DIR,
                            "env": env,
                            "securityContext": container_security_context(),
                            "resources": resources(runner.resources),
                            "readinessProbe": registered,
                            "livenessProbe": registered,
                            "volumeMounts": [
                                mount("data", DATA_DIR),
                                mount("tools", TOOLS_DIR, read_only=True),
                                mount("tmp", "/tmp"),  # noqa: S108
                                mount("config", CONFIG_PATH, read_only=True, sub_path="config.yml"),
                            ],
                        },
                        registry_proxy(images.socat),
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
            {"config.yml": yaml.safe_dump(runner_config(settings), sort_keys=True)},
        ),
        deployment(settings),
    ]
