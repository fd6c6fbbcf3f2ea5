"""The outside world of the bootstrap, in memory: Hetzner + Pulumi, the node, the cluster and
Forgejo, with failures that can be injected at any point.

The doubles keep the real clients' interfaces: `FakeStack` is a `StackDriver`, `FakeSsh` an
`Ssh`, `FakeKube` a `Kube`, `FakeGit` a `Git`, `FakeDeployer` a `Deployer`; Forgejo is a fake
*server* behind httpx's MockTransport, so the real `ForgejoClient` runs against it. Every
change the bootstrap makes to the world is appended to `World.mutations`, so a test can prove
that a run (or a plan) changed nothing.
"""

from __future__ import annotations

import base64
import contextlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml
from pulumi.automation._cmd import CommandResult as PulumiCommandResult
from pulumi.automation.errors import CommandError
from unrip_bootstrap.clients.deploy import DeployError
from unrip_bootstrap.clients.forgejo import ForgejoClient
from unrip_bootstrap.clients.git import GitError
from unrip_bootstrap.clients.kube import KubeError
from unrip_bootstrap.clients.process import CommandResult, ToolMissingError
from unrip_bootstrap.clients.pulumi_stacks import ConfigEntry, OutputEntry
from unrip_bootstrap.context import Clients
from unrip_bootstrap.recovery import (
    SECRET_SIG,
    SECRET_SIG_KEY,
    TOKEN_RESOURCE_NAME,
    TOKEN_RESOURCE_TYPE,
    VOLUME_TOKEN_FILE,
)
from unrip_bootstrap.secret_files import Secrets
from unrip_bootstrap.steps.node import READYZ_COMMAND
from unrip_platform import names
from unrip_platform.hetzner.cloud_init import BOOT_FAILURE_MARKER

from tests.fake_keys import pem_header

# --- recognisable secret values: none of them may ever reach output, logs or state files -----
ADMIN_PASSWORD = "ForgejoAdminSentinel7c1e9a"
DEPLOYER_TOKEN = "DeployerTokenSentinel.eyJhbGciOi.3f9b"
CLIENT_KEY = f"ClientKeySentinel{pem_header('EC')}q8"
K3S_TOKEN = "K3sTokenSentinel4b2d8e1f"
REGISTRY_TOKEN = "RegistryTokenSentinel9d0e"
WORLD_SECRETS = (ADMIN_PASSWORD, DEPLOYER_TOKEN, CLIENT_KEY, K3S_TOKEN, REGISTRY_TOKEN)

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
    ("secret", names.NAMESPACE_APPS, names.DEPLOYER_TOKEN_SECRET),
)


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
    deployer_token_delay: int = 0  # reads of apps/deployer-token before Kubernetes fills it
    presented_host_key: str = HOST_KEY_LINE  # what the server at the address presents
    # Forgejo (its data lives on the volume too)
    forgejo: dict[str, Any] = field(default_factory=dict)

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
        for namespace in (names.NAMESPACE_PLATFORM, names.NAMESPACE_APPS):
            self.put("namespace", "", namespace, {"kind": "Namespace"})
        self.put("statefulset", names.NAMESPACE_PLATFORM, "redpanda", ready_workload())
        self.put("deployment", names.NAMESPACE_PLATFORM, "forgejo", ready_workload())
        self.put("deployment", names.NAMESPACE_PLATFORM, "forgejo-runner", ready_workload())
        data = {
            "token": base64.b64encode(DEPLOYER_TOKEN.encode()).decode(),
            "ca.crt": base64.b64encode(b"-----BEGIN CERTIFICATE-----\nca\n").decode(),
        }
        self.put("secret", names.NAMESPACE_APPS, names.DEPLOYER_TOKEN_SECRET, {"data": data})
        self.forgejo.setdefault("secrets", {})
        self.forgejo.setdefault("tokens", {})
        self.forgejo.setdefault("runs", [])
        self.forgejo.setdefault("packages", self.forgejo.get("packages", []))
        self.platform_up = True

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


# --- Pulumi (the engine, with Hetzner and the cluster behind it) -------------------------------


class FakeStack:
    """A `StackDriver` whose `up` builds the world the way the real programs would."""

    def __init__(self, world: World, project: str, stack: str, secrets: Secrets) -> None:
        self.world = world
        self.project = project
        self.stack = stack
        self.secrets = secrets

    @property
    def _key(self) -> str:
        return f"{self.project}/{self.stack}"

    def exists(self) -> bool:
        return self._key in self.world.stacks_created

    def ensure(self) -> None:
        if not self.exists():
            self.world.mutate(f"{self.project}.create-stack")
            self.world.stacks_created.add(self._key)

    def get_config(self) -> dict[str, ConfigEntry]:
        return dict(self.world.configs.get(self._key, {}))

    def set_config(self, values: Mapping[str, ConfigEntry]) -> None:
        if values:
            self.world.mutate(f"{self.project}.config:{','.join(sorted(values))}")
            self.world.configs.setdefault(self._key, {}).update(values)

    def _missing(self) -> int:
        world = self.world
        if self.project == "hetzner":
            missing = [world.server is None, world.volume_id is None, world.state_token is None]
            return sum(missing)
        if not world.platform_up:
            return 12
        return sum(key not in world.objects for key in PLATFORM_KEYS)

    def preview(self, *, refresh: bool) -> dict[str, int]:
        if message := self.world.failing(f"{self.project}.preview"):
            raise pulumi_error(message)
        changed = self.get_config() != self.world.last_up_config.get(self._key)
        missing = self._missing()
        if missing:
            return {"create": missing, "same": 3}
        return {"update": 1, "same": 9} if changed and self.project == "hetzner" else {"same": 10}

    def up(self, *, refresh: bool, on_output: Callable[[str], None]) -> dict[str, int]:
        assert refresh, "ups refresh first, so deleted resources are recreated"
        if message := self.world.failing(f"{self.project}.up"):
            on_output(f"Updating ({self.stack}) ... {message}")
            raise pulumi_error(message)
        self.world.mutate(f"{self.project}.up")
        on_output(f"Updating ({self.stack}):")
        created = self._missing()
        if self.project == "hetzner":
            self._hetzner_up()
        else:
            self._cluster_up()
        self.world.last_up_config[self._key] = self.get_config()
        return {"create": created, "same": 10 - created} if created else {"same": 10}

    def _hetzner_up(self) -> None:
        world, config = self.world, self.get_config()
        token = config["hcloud:token"]
        assert token.secret and token.value == self.secrets.hetzner.hcloud_token.get_secret_value()
        assert (
            json.loads(config["unrip-hetzner:operatorCidrs"].value) == self.secrets.operator.cidrs
        )
        if world.state_token is None:
            world.state_token = K3S_TOKEN
        if world.volume_id is None:
            world.volume_id = world.next_id
            world.next_id += 1
        rebuild = config["unrip-hetzner:applyServerChanges"].value == "true"
        server = world.server
        stale = server is not None and (
            server.volume_id != world.volume_id or server.token != world.state_token
        )
        if server is None or (stale and rebuild):
            world.server = Server(world.next_id, world.volume_id, world.state_token)
            world.next_id += 1
            world.boot(world.server)

    def _cluster_up(self) -> None:
        path = Path(self.get_config()["unrip-cluster:kubeconfig"].value)
        assert path.is_file(), "the cluster program reads the kubeconfig file"
        if not self.world.node_ready:
            raise pulumi_error("kubernetes: the API server is unreachable")
        self.world.install_platform()

    def outputs(self) -> dict[str, OutputEntry]:
        if not self.exists() or self._key not in self.world.last_up_config:
            return {}
        if self.project == "hetzner":
            return {key: OutputEntry(value) for key, value in hetzner_outputs(self.world).items()}
        return {
            "forgejo_admin_username": OutputEntry(ADMIN),
            "forgejo_admin_password": OutputEntry(ADMIN_PASSWORD, secret=True),
            "forgejo_url": OutputEntry(names.FORGEJO_ROOT_URL),
        }

    def destroy(
        self, *, exclude_protected: bool, on_output: Callable[[str], None]
    ) -> dict[str, int]:
        self.world.mutate(f"{self.project}.destroy")
        self.world.server = None
        if not exclude_protected:
            protect = self.get_config().get("unrip-hetzner:protectData")
            assert protect is not None and protect.value == "false", "protection lifted first"
            self.world.volume_id = None
            self.world.state_token = None
            self.world.datastore_token = None
        return {"delete": 5 if exclude_protected else 8}

    def remove(self) -> None:
        self.world.mutate(f"{self.project}.remove")
        self.world.stacks_created.discard(self._key)

    def export_state(self) -> dict[str, Any]:
        token = None if self.world.wrong_passphrase else self.world.state_token
        urn = (
            "urn:pulumi:prod::unrip-hetzner::unrip:hetzner:K3sCluster$random:index/"
            f"randomPassword:RandomPassword::{TOKEN_RESOURCE_NAME}"
        )
        secret = {SECRET_SIG_KEY: SECRET_SIG, "plaintext": json.dumps(token)}
        return {
            "resources": [{"urn": urn, "type": TOKEN_RESOURCE_TYPE, "outputs": {"result": secret}}]
        }

    def import_state(self, deployment: Mapping[str, Any]) -> None:
        self.world.mutate(f"{self.project}.import-state")
        (resource,) = deployment["resources"]
        self.world.state_token = json.loads(resource["outputs"]["result"]["plaintext"])


def hetzner_outputs(world: World) -> dict[str, Any]:
    return {
        "serverName": "unrip-prod-node-0",
        "serverId": world.server.server_id if world.server else 0,
        "serverIpv4": IPV4,
        "serverPrivateIp": "10.0.1.10",
        "nodeNames": ["unrip-prod-node-0"],
        "sshUser": "root",
        "kubeApiEndpoint": ENDPOINT,
        "kubeconfigPath": "/etc/rancher/k3s/k3s.yaml",
        "kubeconfigServerToReplace": "https://127.0.0.1:6443",
        "kubeconfigFetchCommand": "(umask 077; ssh ...)",
        "bootMarkerPath": names.BOOT_MARKER,
        "bootFailureMarkerPath": BOOT_FAILURE_MARKER,
        "volumeId": world.volume_id or 0,
        "volumeDevice": f"/dev/disk/by-id/scsi-0HC_Volume_{world.volume_id}",
        "dataMount": names.DATA_MOUNT,
        "k3sVersion": names.K3S_VERSION,
        "networkId": 1,
        "firewallId": 2,
        "primaryIpId": 3,
    }


def node_kubeconfig(world: World) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "default",
                    "cluster": {
                        "server": "https://127.0.0.1:6443",
                        "certificate-authority-data": world.cluster_ca,
                    },
                }
            ],
            "users": [
                {
                    "name": "default",
                    "user": {
                        "client-certificate-data": "Q0VSVA==",
                        "client-key-data": base64.b64encode(CLIENT_KEY.encode()).decode(),
                    },
                }
            ],
            "contexts": [{"name": "default", "context": {"cluster": "default", "user": "default"}}],
            "current-context": "default",
        }
    )


# --- the node ----------------------------------------------------------------------------------


class FakeSsh:
    """The server over SSH, checking its host key as OpenSSH does: on first contact
    (``accept-new``) an empty known_hosts takes the presented key; otherwise it must match."""

    def __init__(self, world: World, host: str, known_hosts: Path, first_contact: bool) -> None:
        self.world = world
        self.host = host
        self.known_hosts = known_hosts
        self.first_contact = first_contact

    def run(self, command: str, *, timeout_s: float = 60) -> CommandResult:
        world, server = self.world, self.world.server
        if world.failing("ssh.unreachable") or server is None:
            return CommandResult(255, "", "ssh: connect to host 203.0.113.10 port 22: timed out")
        if self.first_contact and not self.known_hosts.read_text().strip():
            self.known_hosts.write_text(world.presented_host_key + "\n")
        if self.known_hosts.read_text().strip() != world.presented_host_key:
            return CommandResult(255, "", "Host key verification failed.")
        if command.startswith("if test -e"):
            if server.boot_polls_left > 0:
                server.boot_polls_left -= 1
                return CommandResult(0, "booting\n", "")
            return CommandResult(0, "ready\n" if world.node_ready else "failed\n", "")
        if command.startswith("cat ") and "k3s.yaml" in command:
            return CommandResult(0, node_kubeconfig(world), "")
        if command == f"cat {VOLUME_TOKEN_FILE}":
            if world.datastore_token is None:
                return CommandResult(1, "", "cat: No such file or directory")
            return CommandResult(0, f"K10deadbeef::server:{world.datastore_token}\n", "")
        if command.startswith("cat "):  # the failure report
            reason = "k3s: bootstrap data already found and encrypted with different token"
            return CommandResult(0, f"step=k3s-ready\n{reason}\n", "")
        if command == READYZ_COMMAND:
            return CommandResult(0, "ok\n", "") if world.node_ready else CommandResult(1, "", "")
        raise AssertionError(f"unexpected remote command {command!r}")


# --- the cluster -------------------------------------------------------------------------------


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
        if name == names.DEPLOYER_TOKEN_SECRET and self.world.deployer_token_delay > 0:
            self.world.deployer_token_delay -= 1
            return {"metadata": {"name": name}}
        found = self.world.objects.get((kind, namespace, name))
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
        if message := self.world.failing("kube.apply"):
            raise KubeError(f"kubectl apply failed: {message}")
        meta = manifest["metadata"]
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


# --- Forgejo: a fake server behind httpx's MockTransport ---------------------------------------


class FakeForgejo:
    """Answers the API calls the bootstrap makes, from `world.forgejo`."""

    def __init__(self, world: World) -> None:
        self.world = world

    @property
    def data(self) -> dict[str, Any]:
        return self.world.forgejo

    def handle(self, request: httpx.Request) -> httpx.Response:
        world = self.world
        if not world.platform_up or ("deployment", "platform", "forgejo") not in world.objects:
            return httpx.Response(503, json={"message": "Forgejo is starting"})
        path, method = request.url.path, request.method
        if message := world.failing(f"forgejo.{method}"):
            return httpx.Response(500, json={"message": message})
        if path == "/v2/token" or path.startswith("/v2/"):
            return self._registry(request)
        expected = "Basic " + base64.b64encode(f"{ADMIN}:{ADMIN_PASSWORD}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return httpx.Response(401, json={"message": "unauthorized"})
        if method != "GET":
            world.mutate(f"forgejo.{method} {path}")
        return self._api(method, path.removeprefix("/api/v1"), request)

    def _api(self, method: str, path: str, request: httpx.Request) -> httpx.Response:
        data = self.data
        body = json.loads(request.content) if request.content else {}
        repo_path = f"/repos/{names.FORGEJO_ORG}/{names.FORGEJO_REPO}"
        match method, path:
            case "GET", "/version":
                return httpx.Response(200, json={"version": "15.0.7"})
            case "GET", "/admin/actions/runners":
                online = self.world.runner_registered and self.world.platform_up
                status = "idle" if online else "offline"
                return httpx.Response(
                    200, json=[{"id": 1, "status": status, "labels": ["unrip-host"]}]
                )
            case "GET", "/orgs/unrip":
                org = data.get("org")
                return httpx.Response(200, json=org) if org else httpx.Response(404, json={})
            case "POST", "/orgs":
                data["org"] = {"username": body["username"], "visibility": body["visibility"]}
                return httpx.Response(201, json=data["org"])
            case "PATCH", "/orgs/unrip":
                data["org"]["visibility"] = body["visibility"]
                return httpx.Response(200, json=data["org"])
            case "GET", _ if path == repo_path:
                repo = data.get("repo")
                return httpx.Response(200, json=repo) if repo else httpx.Response(404, json={})
            case "POST", "/orgs/unrip/repos":
                assert body["private"] is True
                data["repo"] = {"name": body["name"], "private": True}
                return httpx.Response(201, json=data["repo"])
            case "GET", _ if path == f"{repo_path}/branch_protections/main":
                rule = data.get("protection")
                return httpx.Response(200, json=rule) if rule else httpx.Response(404, json={})
            case "POST", _ if path == f"{repo_path}/branch_protections":
                assert data.get("repo") is not None and "protection" not in data
                data["protection"] = {"branch_name": body["rule_name"], **body}
                return httpx.Response(201, json=data["protection"])
            case "PATCH", _ if path == f"{repo_path}/branch_protections/main":
                data["protection"].update(body)
                return httpx.Response(200, json=data["protection"])
            case "GET", _ if path == f"{repo_path}/actions/secrets":
                return httpx.Response(200, json=[{"name": n} for n in data.get("secrets", {})])
            case "PUT", _ if path.startswith(f"{repo_path}/actions/secrets/"):
                data.setdefault("secrets", {})[path.rsplit("/", 1)[1]] = body["data"]
                return httpx.Response(201)
            case "GET", "/users/unrip-admin/tokens":
                tokens = data.get("tokens", {})
                return httpx.Response(200, json=[{"id": i, "name": n} for i, n in tokens.items()])
            case "POST", "/users/unrip-admin/tokens":
                assert body["scopes"] == ["write:package"]
                token_id = len(data.setdefault("tokens", {})) + 1
                data["tokens"][token_id] = body["name"]
                return httpx.Response(201, json={"id": token_id, "sha1": REGISTRY_TOKEN})
            case "DELETE", _ if path.startswith("/users/unrip-admin/tokens/"):
                data.get("tokens", {}).pop(int(path.rsplit("/", 1)[1]), None)
                return httpx.Response(204)
            case "GET", _ if path == f"{repo_path}/branches/main":
                branch = data.get("branch")
                if branch is None:
                    return httpx.Response(404, json={})
                return httpx.Response(200, json={"commit": {"id": branch}})
            case "GET", _ if path == f"{repo_path}/actions/runs":
                return httpx.Response(200, json={"workflow_runs": self._runs(request)})
            case "GET", "/packages/unrip":
                return httpx.Response(200, json=data.get("packages", []))
        raise AssertionError(f"unexpected Forgejo call {method} {path}")

    def _runs(self, request: httpx.Request) -> list[dict[str, Any]]:
        head = request.url.params["head_sha"]
        answer = []
        for run in self.data.get("runs", []):
            if run.head != head:
                continue
            if run.status in ("waiting", "running") and self.world.runner_registered:
                run.status = "running"
                run.polls_left -= 1
                if run.polls_left <= 0:
                    failed = self.world.failing("workflow")
                    run.status = "failure" if failed else "success"
                    if not failed:
                        digest = f"sha256:{run.head[:8]}" + "0" * 56
                        self.world.deploy_apps(digest)
                        self.data.setdefault("packages", []).append(
                            {
                                "id": run.run_id,
                                "name": "unrip",
                                "version": run.head,
                                "created_at": "2026-01-01T00:00:00Z",
                                "digest": digest,
                            }
                        )
            answer.append(
                {
                    "id": run.run_id,
                    "index_in_repo": run.run_id,
                    "status": run.status,
                    "commit_sha": run.head,
                    "html_url": f"http://127.0.0.1:30300/runs/{run.run_id}",
                }
            )
        return answer

    def _registry(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/token":
            return httpx.Response(200, json={"token": "anonymous-pull-token"})
        tag = request.url.path.rsplit("/", 1)[1]
        for package in self.data.get("packages", []):
            if package["version"] == tag:
                return httpx.Response(200, headers={"Docker-Content-Digest": package["digest"]})
        return httpx.Response(404)


# --- the workstation's checkout and the deploy script -----------------------------------------


class FakeGit:
    def __init__(self, world: World, head: str = "c0ffee" + "1" * 34) -> None:
        self.world = world
        self.current = head

    def head(self) -> str:
        return self.current

    def is_dirty(self) -> bool:
        return False

    def push(self, url: str, refspec: str, *, username: str, password: str) -> None:
        assert url == f"{names.FORGEJO_ROOT_URL}unrip/unrip.git"
        assert refspec == "HEAD:refs/heads/main"
        if message := self.world.failing("git.push"):
            raise GitError(f"git push failed: {message}")
        assert (username, password) == (ADMIN, ADMIN_PASSWORD)
        self.world.mutate(f"git.push {self.current[:12]}")
        forgejo = self.world.forgejo
        forgejo["branch"] = self.current
        runs = forgejo.setdefault("runs", [])
        runs.append(Run(len(runs) + 1, self.current, "waiting"))


class FakeDeployer:
    def __init__(self, world: World) -> None:
        self.world = world
        self.calls: list[tuple[str, str]] = []

    def deploy(self, image: str, overlay: str, kubeconfig: Path, timeout_s: float) -> None:
        if message := self.world.failing("deploy"):
            raise DeployError(f"ci/deploy.py exited with 1:\n{message}")
        assert kubeconfig.is_file()
        self.calls.append((image, overlay))
        self.world.mutate(f"deploy {image}")
        self.world.deploy_apps(image.split("@", 1)[1])


class FakeTools:
    """`<tool> version` answers of a workstation with everything installed."""

    VERSIONS = {
        "pulumi": "v3.272.0",
        "kubectl": "Client Version: v1.36.1",
        "git": "git version 2.45.0",
        "ssh": "OpenSSH_9.6p1",
    }

    def __init__(self) -> None:
        self.missing: set[str] = set()

    def run(self, argv: Sequence[str], **_: Any) -> CommandResult:
        if argv[0] in self.missing:
            raise ToolMissingError(f"{argv[0]} is not installed")
        return CommandResult(0, self.VERSIONS[argv[0]] + "\n", "")


class FakeClock:
    """Time that passes only when the bootstrap waits."""

    def __init__(self, world: World) -> None:
        self.world = world

    def monotonic(self) -> float:
        return self.world.now

    def sleep(self, seconds: float) -> None:
        self.world.now += seconds

    def now(self) -> datetime:
        return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=self.world.now)


def fake_clients(world: World, stack: str = "prod") -> tuple[Clients, FakeGit, FakeDeployer]:
    git, deployer = FakeGit(world), FakeDeployer(world)
    forgejo = FakeForgejo(world)

    def make_forgejo(url: str, username: str, password: str) -> ForgejoClient:
        return ForgejoClient(url, username, password, transport=httpx.MockTransport(forgejo.handle))

    clients = Clients(
        stack=lambda project, secrets: FakeStack(world, project, stack, secrets),
        ssh=lambda host, user, known_hosts, identity, first: FakeSsh(
            world, host, known_hosts, first
        ),
        kube=lambda kubeconfig: FakeKube(world, kubeconfig),
        forgejo=make_forgejo,
        git=git,
        deployer=deployer,
        runner=FakeTools(),
        clock=FakeClock(world),
    )
    return clients, git, deployer
