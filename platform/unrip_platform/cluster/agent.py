"""The pull-based deploy agent (``ci/agent.py``) in the cluster: the only thing that rolls out.

Why (docs/decisions.md, "Rollout stays in main's hands"): a Forgejo workflow is whatever the
pushed branch says it is, so no credential that changes the cluster may be reachable from any
workflow. The agent polls protected ``main``, builds its head with BuildKit and deploys the
digest with that commit's ``ci/deploy.py``. It holds the rollout's three credentials, each in
one place:

- the cluster: its own ServiceAccount in its own namespace (``deploy``), bound to the
  least-privilege ``deployer`` Role in apps (``deployer``). The token is a projected,
  hour-long one mounted into the agent container only (the pod does not automount);
- Forgejo: a read-only repository token, and the registry push credential, both in the Secret
  ``names.DEPLOY_AGENT_SECRET`` that the bootstrap's Forgejo step writes (they can only be
  created once Forgejo runs, after this project). The Secret is mounted as files, which the
  agent reads before every poll (``UNRIP_AGENT_CREDENTIALS_DIR``): replaced tokens take effect
  without a restart, and no credential is in the pod spec's env or on a command line.

Its code and tools: the pod runs the pinned job image (Python 3.11, git). An init container
fetches ``main`` with the read-only token and has BuildKit build ``ci/agent-tools.Dockerfile``
from that commit into an emptyDir (``--output type=local``): the hash-locked
``ci/requirements.txt`` (httpx, PyYAML) and the checksum-pinned kubectl. So the agent needs no
internet access (BuildKit, which needs it for image builds anyway, does the downloading), and a
restart picks up main's agent. Its network: Forgejo, BuildKit, the API server, DNS; nothing
else, never link-local.
"""

from __future__ import annotations

from typing import Any, Final

from unrip_platform import names
from unrip_platform.cluster.buildkit import registry_proxy
from unrip_platform.cluster.common import (
    SMALL,
    Manifest,
    container_security_context,
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
from unrip_platform.cluster.namespaces import (
    FORGEJO_APP,
    NAMESPACE_LABEL,
    api_server_egress,
    namespace,
    public_internet,
)
from unrip_platform.cluster.settings import ClusterSettings, NetworkSettings

NS: Final = names.NAMESPACE_DEPLOY
APP: Final = names.DEPLOY_AGENT
COMPONENT: Final = "deploy"
AGENT_UID: Final = 10002
AGENT_DIR: Final = "/opt/agent"
SOURCE_DIR: Final = f"{AGENT_DIR}/src"  # main at pod start (the agent's own code)
TOOLS_DIR: Final = f"{AGENT_DIR}/env"  # BuildKit's export: site/ (packages), bin/ (kubectl)
BIN_DIR: Final = f"{AGENT_DIR}/bin"  # buildctl, copied from the BuildKit image
HOME: Final = "/home/agent"
CREDENTIALS_DIR: Final = "/etc/deploy-agent"
HEARTBEAT: Final = "/tmp/agent-heartbeat"  # noqa: S108 (an emptyDir)
TOKEN_DIR: Final = "/var/run/secrets/kubernetes.io/serviceaccount"  # noqa: S105 (a path)
TOOLS_DOCKERFILE: Final = "agent-tools.Dockerfile"
POLL_INTERVAL_S: Final = 60
DEPLOY_TIMEOUT_S: Final = 480
# The heartbeat is touched at every poll; a build plus a failed rollout and its rollback take
# well under this. Older means the agent hangs: restart it.
HEARTBEAT_MAX_AGE_MIN: Final = 120
TOKEN_LIFETIME_S: Final = 3600
REPOSITORY: Final = f"{names.FORGEJO_ORG}/{names.FORGEJO_REPO}"

# The init container's wait for its credentials, and the token for git through its environment
# (not the pod spec's env, not an argv).
_READ_TOKEN: Final = "\n".join(
    [
        "set -eu",
        f"token_file={CREDENTIALS_DIR}/{names.DEPLOY_AGENT_SECRET_FORGEJO_TOKEN}",
        'until [ -s "$token_file" ]; do',
        f'  echo "waiting for Secret {NS}/{names.DEPLOY_AGENT_SECRET} (the bootstrap writes it)"',
        "  sleep 15",
        "done",
        'auth=$(printf \'x-access-token:%s\' "$(cat "$token_file")" | base64 -w0)',
        "export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=http.extraHeader",
        'export GIT_CONFIG_VALUE_0="Authorization: Basic $auth" GIT_TERMINAL_PROMPT=0',
    ]
)


def toolchain_script() -> str:
    """Init: main's agent code and, built by BuildKit from main's pinned files, its tools."""
    remote = f"{names.FORGEJO_IN_CLUSTER_URL}/{REPOSITORY}.git"
    return "\n".join(
        [
            _READ_TOKEN,
            f"rm -rf {SOURCE_DIR} {TOOLS_DIR} && mkdir -p {SOURCE_DIR} {TOOLS_DIR}",
            f"git -C {SOURCE_DIR} init -q .",
            f"git -C {SOURCE_DIR} fetch -q --depth=1 {remote} refs/heads/main",
            f"git -C {SOURCE_DIR} checkout -q --detach FETCH_HEAD",
            f"{BIN_DIR}/buildctl build --frontend dockerfile.v0 "
            f"--local context={SOURCE_DIR}/ci --local dockerfile={SOURCE_DIR}/ci "
            f"--opt filename={TOOLS_DOCKERFILE} --output type=local,dest={TOOLS_DIR}",
            f'echo "agent toolchain built from main at $(git -C {SOURCE_DIR} rev-parse HEAD)"',
        ]
    )


def agent_command() -> list[str]:
    return [
        "python3",
        f"{SOURCE_DIR}/ci/agent.py",
        "--forgejo",
        names.FORGEJO_IN_CLUSTER_URL,
        "--repository",
        REPOSITORY,
        "--overlay",
        names.OVERLAY_PRODUCTION,
        "--interval",
        str(POLL_INTERVAL_S),
        "--timeout",
        str(DEPLOY_TIMEOUT_S),
        "--heartbeat",
        HEARTBEAT,
    ]


def agent_environment() -> dict[str, str]:
    """What the agent and the scripts it runs see (credentials come from the mounted files)."""
    return {
        "UNRIP_AGENT_CREDENTIALS_DIR": CREDENTIALS_DIR,
        "HOME": HOME,
        "PATH": f"{TOOLS_DIR}/bin:{BIN_DIR}:/usr/local/bin:/usr/bin:/bin",
        "PYTHONPATH": f"{TOOLS_DIR}/site",
        "BUILDKIT_HOST": names.BUILDKIT_IN_CLUSTER,
        # Push through the pod's loopback proxy (Forgejo's token realm is that address); pods
        # pull the same image by names.IMAGE_REPOSITORY through the node's mirror.
        "UNRIP_REGISTRY_PUSH": f"{names.FORGEJO_LOOPBACK_HOST}/{names.FORGEJO_ORG}/unrip",
        "UNRIP_IMAGE_REPOSITORY": names.IMAGE_REPOSITORY,
    }


def _env(values: dict[str, str]) -> list[dict[str, str]]:
    return [{"name": key, "value": value} for key, value in values.items()]


def _heartbeat_probe(command: str, *, failures: int) -> dict[str, Any]:
    return exec_probe(["/bin/sh", "-c", command], period=60, failures=failures)


def kube_api_volume() -> dict[str, Any]:
    """What automounting would give, but short-lived and mounted by the agent container only."""
    return {
        "name": "kube-api-access",
        "projected": {
            "defaultMode": 0o440,
            "sources": [
                {"serviceAccountToken": {"path": "token", "expirationSeconds": TOKEN_LIFETIME_S}},
                {
                    "configMap": {
                        "name": "kube-root-ca.crt",
                        "items": [{"key": "ca.crt", "path": "ca.crt"}],
                    }
                },
                {
                    "downwardAPI": {
                        "items": [
                            {"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}
                        ]
                    }
                },
            ],
        },
    }


def deployment(settings: ClusterSettings) -> Manifest:
    images = settings.images
    meta = metadata(APP, NS, COMPONENT)
    # Its credentials Secret appears only after Forgejo runs (the bootstrap's Forgejo step), so
    # Pulumi must not wait for this pod to become ready.
    meta["annotations"] = {"pulumi.com/skipAwait": "true"}
    credentials = mount("credentials", CREDENTIALS_DIR, read_only=True)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": 1,
            # Never two agents deploying at once.
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": selector(APP)},
            "template": {
                "metadata": {"labels": labels(APP, COMPONENT)},
                "spec": {
                    "serviceAccountName": APP,
                    "automountServiceAccountToken": False,
                    "securityContext": pod_security_context(AGENT_UID),
                    "initContainers": [
                        {
                            "name": "install-buildctl",
                            "image": images.buildkit,
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["cp", "/usr/bin/buildctl", f"{BIN_DIR}/buildctl"],
                            "securityContext": container_security_context(),
                            "resources": resources(SMALL),
                            "volumeMounts": [mount("bin", BIN_DIR)],
                        },
                        {
                            "name": "toolchain",
                            "image": images.job,
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["/bin/sh", "-c", toolchain_script()],
                            "env": _env({"HOME": HOME, "BUILDKIT_HOST": names.BUILDKIT_IN_CLUSTER}),
                            "securityContext": container_security_context(),
                            "resources": resources(settings.agent.resources),
                            "volumeMounts": [
                                mount("agent", AGENT_DIR),
                                mount("bin", BIN_DIR, read_only=True),
                                mount("home", HOME),
                                mount("tmp", "/tmp"),  # noqa: S108
                                credentials,
                            ],
                        },
                    ],
                    "containers": [
                        {
                            "name": "agent",
                            "image": images.job,
                            "imagePullPolicy": "IfNotPresent",
                            "command": agent_command(),
                            "workingDir": HOME,
                            "env": _env(agent_environment()),
                            "securityContext": container_security_context(),
                            "resources": resources(settings.agent.resources),
                            "readinessProbe": _heartbeat_probe(f"test -f {HEARTBEAT}", failures=3),
                            "livenessProbe": _heartbeat_probe(
                                f'test -n "$(find {HEARTBEAT} -mmin -{HEARTBEAT_MAX_AGE_MIN})"',
                                failures=3,
                            ),
                            "volumeMounts": [
                                mount("agent", AGENT_DIR, read_only=True),
                                mount("bin", BIN_DIR, read_only=True),
                                mount("home", HOME),
                                mount("tmp", "/tmp"),  # noqa: S108
                                credentials,
                                mount("kube-api-access", TOKEN_DIR, read_only=True),
                            ],
                        },
                        registry_proxy(images.socat),
                    ],
                    "volumes": [
                        empty_dir("agent", "1Gi"),
                        empty_dir("bin", "256Mi"),
                        empty_dir("home", "256Mi"),
                        empty_dir("tmp", settings.agent.scratch_size),
                        {
                            "name": "credentials",
                            "secret": {
                                "secretName": names.DEPLOY_AGENT_SECRET,
                                "defaultMode": 0o440,
                                # Written by the bootstrap after this project: wait for it.
                                "optional": True,
                            },
                        },
                        kube_api_volume(),
                    ],
                },
            },
        },
    }


def _policy(name: str, ns: str, spec: dict[str, Any]) -> Manifest:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(name, ns, "network"),
        "spec": spec,
    }


def _pods(app: str, ns: str) -> dict[str, Any]:
    return {
        "podSelector": {"matchLabels": selector(app)},
        "namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: ns}},
    }


def _tcp(*ports: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": port} for port in ports]


def network_policies(network: NetworkSettings) -> list[Manifest]:
    """deploy: deny all, DNS, and the agent's three destinations. platform: BuildKit reachable
    from the agent only, and reaching Forgejo and the internet's web ports (never link-local)."""
    platform = names.NAMESPACE_PLATFORM
    dns = {
        "namespaceSelector": {"matchLabels": {NAMESPACE_LABEL: "kube-system"}},
        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
    }
    forgejo = {"to": [_pods(FORGEJO_APP, platform)], "ports": _tcp(names.FORGEJO_HTTP_PORT)}
    return [
        _policy("default-deny", NS, {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
        _policy(
            "allow-dns",
            NS,
            {
                "podSelector": {},
                "policyTypes": ["Egress"],
                "egress": [
                    {
                        "to": [dns],
                        "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
                    }
                ],
            },
        ),
        _policy(
            APP,
            NS,
            {
                "podSelector": {"matchLabels": selector(APP)},
                "policyTypes": ["Egress"],
                "egress": [
                    forgejo,
                    {
                        "to": [_pods(names.BUILDKIT_SERVICE, platform)],
                        "ports": _tcp(names.BUILDKIT_PORT),
                    },
                    *api_server_egress(network),
                ],
            },
        ),
        _policy(
            names.BUILDKIT_SERVICE,
            platform,
            {
                "podSelector": {"matchLabels": selector(names.BUILDKIT_SERVICE)},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [_pods(APP, NS)], "ports": _tcp(names.BUILDKIT_PORT)}],
                "egress": [
                    forgejo,
                    {"to": [public_internet(network)], "ports": _tcp(80, 443)},
                ],
            },
        ),
    ]


def namespace_manifests(network: NetworkSettings) -> list[Manifest]:
    """The agent's namespace (restricted Pod Security) and the policies around the agent; created
    with the other namespaces, before anything lives in them."""
    return [namespace(NS, enforce="restricted"), *network_policies(network)]


def agent_manifests(settings: ClusterSettings) -> list[Manifest]:
    return [service_account(APP, NS, COMPONENT), deployment(settings)]
