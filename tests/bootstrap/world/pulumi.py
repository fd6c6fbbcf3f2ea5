"""Pulumi, with Hetzner and the cluster behind it: `FakeStack` is a `StackDriver`."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml
from unrip_bootstrap.clients.pulumi_stacks import ConfigEntry, OutputEntry
from unrip_bootstrap.recovery import (
    SECRET_SIG,
    SECRET_SIG_KEY,
    TOKEN_RESOURCE_NAME,
    TOKEN_RESOURCE_TYPE,
)
from unrip_bootstrap.secret_files import Secrets
from unrip_platform import names
from unrip_platform.cluster.image_pins import UnpinnedImagesError, program_settings
from unrip_platform.hetzner.cloud_init import BOOT_FAILURE_MARKER

from tests.bootstrap.world.state import (
    ADMIN,
    ADMIN_PASSWORD,
    CLIENT_KEY,
    ENDPOINT,
    IPV4,
    K3S_TOKEN,
    PLATFORM_KEYS,
    Server,
    World,
    pulumi_error,
)


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
        config = self.get_config()
        path = Path(config["unrip-cluster:kubeconfig"].value)
        assert path.is_file(), "the cluster program reads the kubeconfig file"
        settings, pins = (
            config.get(f"unrip-cluster:{key}") for key in ("settings", "image_digests")
        )
        try:  # what the real program deploys: every image by digest, or nothing
            self.world.deployed_images = program_settings(
                json.loads(settings.value) if settings else {},
                json.loads(pins.value) if pins else {},
            ).images
        except UnpinnedImagesError as exc:
            raise pulumi_error(str(exc)) from None
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
