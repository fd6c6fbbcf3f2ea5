"""The world's state: the recognisable secrets, the servers, the runs and every mutation."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

from pulumi.automation._cmd import CommandResult as PulumiCommandResult
from pulumi.automation.errors import CommandError
from unrip_bootstrap.clients.pulumi_stacks import ConfigEntry
from unrip_platform import names
from unrip_platform.cluster.settings import Images

from tests.bootstrap.world.registry import FakeRegistry
from tests.fake_keys import pem_header

ADMIN_PASSWORD = "ForgejoAdminSentinel7c1e9a"
AGENT_TOKEN = "AgentReadTokenSentinel5a7c2e"
CLIENT_KEY = f"ClientKeySentinel{pem_header('EC')}q8"
K3S_TOKEN = "K3sTokenSentinel4b2d8e1f"
REGISTRY_TOKEN = "RegistryTokenSentinel9d0e"
WORLD_SECRETS = (ADMIN_PASSWORD, AGENT_TOKEN, CLIENT_KEY, K3S_TOKEN, REGISTRY_TOKEN)
# What Forgejo answers a token creation with, by the token's scopes.
TOKENS_BY_SCOPES = {("read:repository",): AGENT_TOKEN, ("write:package",): REGISTRY_TOKEN}

IPV4 = "203.0.113.10"
ENDPOINT = f"https://{IPV4}:6443"
HOST_KEY_LINE = f"{IPV4} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeHostKeyForTests"
ADMIN = "unrip-admin"
IMAGE_PREFIX = names.IMAGE_REPOSITORY + "@sha256:"
APPS = ("ingest", "reactor", "executor", "monitor", "paper-venue")
PLATFORM_KEYS = (
    ("statefulset", names.NAMESPACE_PLATFORM, "redpanda"),
    ("deployment", names.NAMESPACE_PLATFORM, "forgejo"),
    ("deployment", names.NAMESPACE_PLATFORM, "forgejo-runner"),
    ("deployment", names.NAMESPACE_PLATFORM, names.BUILDKIT_SERVICE),
    ("deployment", names.NAMESPACE_DEPLOY, names.DEPLOY_AGENT),
)
AGENT_KEY = ("deployment", names.NAMESPACE_DEPLOY, names.DEPLOY_AGENT)
AGENT_SECRET_KEY = ("secret", names.NAMESPACE_DEPLOY, names.DEPLOY_AGENT_SECRET)


class InjectedFailureError(RuntimeError):
    pass


@dataclass
class Server:
    server_id: int
    volume_id: int
    token: str
    boot_polls_left: int = 2


@dataclass
class Run:
    run_id: int
    head: str
    status: str
    polls_left: int = 2


@dataclass
class World:
    """Everything outside the workstation."""

    now: float = 0.0
    mutations: list[str] = field(default_factory=list)
    failures: dict[str, int] = field(default_factory=dict)
    failure_messages: dict[str, str] = field(default_factory=dict)
    # Pulumi state and Hetzner
    configs: dict[str, dict[str, ConfigEntry]] = field(default_factory=dict)
    stacks_created: set[str] = field(default_factory=set)
    last_up_config: dict[str, dict[str, ConfigEntry]] = field(default_factory=dict)
    state_token: str | None = None  # the RandomPassword in the Hetzner stack's state
    wrong_passphrase: bool = False  # `stack export` then shows every secret as null
    server: Server | None = None
    volume_id: int | None = None
    next_id: int = 100
    # the data volume's contents
    datastore_token: str | None = None  # what k3s's datastore is encrypted with
    cluster_ca: str | None = None
    # the cluster
    platform_up: bool = False
    objects: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    runner_registered: bool = True
    crashing_pod: bool = False
    # Running app pods: name -> (service, the JSON its /status serves; None: it does not answer)
    app_pods: dict[str, tuple[str, dict[str, Any] | None]] = field(default_factory=dict)
    # The deploy agent: the commits it tried (once each), and polls of its work still to go.
    agent_tried: set[str] = field(default_factory=set)
    agent_polls_left: int = 2
    agent_pod_fails: bool = False  # e.g. BuildKit unreachable while its toolchain is built
    presented_host_key: str = HOST_KEY_LINE  # what the server at the address presents
    # Forgejo (its data lives on the volume too)
    forgejo: dict[str, Any] = field(default_factory=dict)
    # the public registries the platform images come from
    registry: FakeRegistry = field(default_factory=FakeRegistry.with_platform_images)
    deployed_images: Images | None = None  # what the cluster program last deployed

    # --- failures -------------------------------------------------------------------------------

    def arm(self, point: str, times: int = 1, message: str = "injected failure") -> None:
        self.failures[point] = times
        self.failure_messages[point] = message

    def disarm(self) -> None:
        self.failures.clear()

    def failing(self, point: str) -> str | None:
        """The armed message if `point` fails now (and count it), else None."""
        left = self.failures.get(point, 0)
        if left <= 0:
            return None
        self.failures[point] = left - 1
        return self.failure_messages[point]

    def mutate(self, what: str) -> None:
        self.mutations.append(what)

    # --- disasters ------------------------------------------------------------------------------

    def lose_server(self) -> None:
        self.server = None

    def lose_volume(self) -> None:
        self.volume_id = None
        self.datastore_token = None
        self.cluster_ca = None
        self.platform_up = False
        self.objects.clear()
        self.forgejo.clear()
        self.agent_tried.clear()  # a new cluster: a new agent pod, with no memory

    def lose_forgejo(self) -> None:
        self.forgejo.clear()
        self.objects.pop(("deployment", names.NAMESPACE_PLATFORM, "forgejo"), None)

    # --- derived --------------------------------------------------------------------------------

    @property
    def node_ready(self) -> bool:
        server = self.server
        return (
            server is not None
            and server.boot_polls_left == 0
            and server.volume_id == self.volume_id
            and server.token == self.datastore_token
        )

    def boot(self, server: Server) -> None:
        """The node's first boot on the volume: k3s initialises an empty datastore."""
        if server.volume_id == self.volume_id and self.datastore_token is None:
            self.datastore_token = server.token
            self.cluster_ca = f"ca-{self.next_id}"

    def snapshot(self) -> dict[str, Any]:
        """What a converged world looks like, without ids or history."""
        return {
            "server": self.server is not None and self.node_ready,
            "volume": self.volume_id is not None,
            "platform": self.platform_up,
            "objects": sorted("/".join(key) for key in self.objects),
            "org": self.forgejo.get("org"),
            "repo": self.forgejo.get("repo") is not None,
            "secrets": sorted(self.forgejo.get("secrets", {})),
            "protection": self.forgejo.get("protection"),
            "branch": self.forgejo.get("branch"),
            "apps_images": sorted(
                {
                    obj["spec"]["template"]["spec"]["containers"][0]["image"][: len(IMAGE_PREFIX)]
                    for key, obj in self.objects.items()
                    if key[1] == names.NAMESPACE_APPS and key[0] == "deployment"
                }
            ),
        }

    # --- the cluster's objects ------------------------------------------------------------------

    def put(self, kind: str, namespace: str, name: str, obj: dict[str, Any]) -> None:
        obj.setdefault("metadata", {}).update({"name": name, "namespace": namespace})
        self.objects[(kind, namespace, name)] = obj

    def install_platform(self) -> None:
        for namespace in (names.NAMESPACE_PLATFORM, names.NAMESPACE_APPS, names.NAMESPACE_DEPLOY):
            self.put("namespace", "", namespace, {"kind": "Namespace"})
        self.put("statefulset", names.NAMESPACE_PLATFORM, "redpanda", ready_workload())
        self.put("deployment", names.NAMESPACE_PLATFORM, "forgejo", ready_workload())
        self.put("deployment", names.NAMESPACE_PLATFORM, "forgejo-runner", ready_workload())
        self.put("deployment", names.NAMESPACE_PLATFORM, names.BUILDKIT_SERVICE, ready_workload())
        # Its pod waits for its credentials Secret (see agent_ready): not ready until then.
        self.put(*AGENT_KEY, ready_workload())
        self.forgejo.setdefault("secrets", {})
        self.forgejo.setdefault("tokens", {})
        self.forgejo.setdefault("runs", [])
        self.forgejo.setdefault("packages", self.forgejo.get("packages", []))
        self.platform_up = True

    # --- the deploy agent -----------------------------------------------------------------------

    def agent_credentials(self) -> dict[str, str]:
        secret = self.objects.get(AGENT_SECRET_KEY)
        data = (secret or {}).get("data") or {}
        return {key: base64.b64decode(value).decode() for key, value in data.items()}

    def agent_ready(self) -> bool:
        """The agent's pod runs once its Secret holds a read-only token Forgejo knows."""
        token = self.agent_credentials().get(names.DEPLOY_AGENT_SECRET_FORGEJO_TOKEN)
        scopes = {
            TOKENS_BY_SCOPES[tuple(entry["scopes"])]: entry["scopes"]
            for entry in self.forgejo.get("tokens", {}).values()
        }
        return (
            not self.agent_pod_fails
            and AGENT_KEY in self.objects
            and scopes.get(token or "") == ["read:repository"]
        )

    def agent_poll(self) -> None:
        """One poll of the agent: after a few, main's head is built, pushed and deployed, or
        (armed failure point "agent") its build fails; each commit is tried once."""
        head = self.forgejo.get("branch")
        if not self.agent_ready() or head is None or head in self.agent_tried:
            return
        if self.forgejo.get("protection") is None:
            return  # the agent refuses to deploy an unprotected main
        self.agent_polls_left -= 1
        if self.agent_polls_left > 0:
            return
        self.agent_polls_left = 2
        self.agent_tried.add(head)
        if self.failing("agent"):
            return
        digest = f"sha256:{head[:8]}" + "0" * 56
        self.forgejo.setdefault("packages", []).append(
            {
                "id": 1000 + len(self.agent_tried),
                "name": "unrip",
                "version": head,
                "created_at": "2026-01-01T00:00:00Z",
                "digest": digest,
            }
        )
        self.deploy_apps(digest)

    def deploy_apps(self, digest: str) -> None:
        for app in APPS:
            self.put(
                "deployment",
                names.NAMESPACE_APPS,
                app,
                ready_workload(image=f"{names.IMAGE_REPOSITORY}@{digest}"),
            )


def ready_workload(image: str = "example/image:1") -> dict[str, Any]:
    return {
        "metadata": {"generation": 1},
        "spec": {"replicas": 1, "template": {"spec": {"containers": [{"image": image}]}}},
        "status": {
            "observedGeneration": 1,
            "replicas": 1,
            "updatedReplicas": 1,
            "readyReplicas": 1,
            "availableReplicas": 1,
        },
    }


def pulumi_error(message: str) -> CommandError:
    return CommandError(PulumiCommandResult(stdout="", stderr=f"error: {message}", code=255))
