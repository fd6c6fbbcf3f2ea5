"""cloud-init user data that turns a fresh Hetzner server into a k3s node.

Pure functions of the node's facts, so every rendered document can be validated offline.
cloud-init writes the files (k3s config, registry mirror, token, setup script) and mounts the
data volume; the setup script does what needs waiting (private address, installer, node
Ready) and writes the boot marker the bootstrap waits for.

The server keeps *all* cluster state on the data volume (k3s's data dir, local-path PVCs, the
node password), so a rebuilt server comes back as the same cluster with the same data.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from importlib import resources
from typing import Any, Final
from urllib.parse import quote

import yaml

from unrip_platform.names import (
    BOOT_MARKER,
    DATA_MOUNT,
    FORGEJO_REGISTRY_NODEPORT,
    K3S_KUBECONFIG_PATH,
    KUBE_API_PORT,
    LOCAL_PATH_STORAGE_DIR,
    REGISTRY_HOST,
)

# Where k3s's data dir (datastore, certificates, containerd) lives: on the volume.
K3S_DATA_DIR: Final = f"{DATA_MOUNT}/k3s"
# /etc/rancher/node (the node password) is a symlink to this directory on the volume.
NODE_IDENTITY_DIR: Final = f"{DATA_MOUNT}/rancher-node"
K3S_CONFIG_PATH: Final = "/etc/rancher/k3s/config.yaml"
K3S_REGISTRIES_PATH: Final = "/etc/rancher/k3s/registries.yaml"
K3S_TOKEN_PATH: Final = "/etc/rancher/k3s/cluster-token"  # noqa: S105 (a path, not a secret)
K3S_SERVER_UNIT_DROP_IN: Final = "/etc/systemd/system/k3s.service.d/10-unrip-data-volume.conf"
NODE_ENV_PATH: Final = "/etc/unrip/node.env"
NODE_SETUP_PATH: Final = "/usr/local/sbin/unrip-node-setup"
BOOT_FAILURE_MARKER: Final = f"{BOOT_MARKER}.failed"
# Stateful workloads select this label: only the server node has the data volume.
DATA_VOLUME_NODE_LABEL: Final = "unrip.io/data-volume=true"
DATA_VOLUME_FILESYSTEM: Final = "ext4"
MOUNT_OPTIONS: Final = "defaults,nofail,discard"
# Hetzner refuses user data above 32 KiB.
USER_DATA_LIMIT_BYTES: Final = 32 * 1024
# k3s's default pod network: the node's pod guard drops its traffic to these (node_setup.sh).
POD_CIDR: Final = "10.42.0.0/16"
LINK_LOCAL_CIDR: Final = "169.254.0.0/16"  # the metadata service, 169.254.169.254
KUBELET_PORT: Final = 10250
# How long the first boot waits for the data volume to be attached (Pulumi attaches it right
# after the server is created, so it may appear a little after boot).
VOLUME_WAIT_SECONDS: Final = 300


class UserDataTooLargeError(ValueError):
    """The rendered document exceeds Hetzner's user-data limit."""


@dataclass(frozen=True)
class ServerBoot:
    """What the k3s server's first boot needs to know."""

    node_name: str
    node_ip: str
    public_ipv4: str
    data_device: str
    k3s_version: str
    cluster_token: str
    install_script_sha256: str


@dataclass(frozen=True)
class AgentBoot:
    """What a k3s agent's first boot needs to know: where the server is and the token."""

    node_name: str
    node_ip: str
    server_ip: str
    k3s_version: str
    cluster_token: str
    install_script_sha256: str


def k3s_install_url(k3s_version: str) -> str:
    """The installer at the same tag as the release it installs (never the moving get.k3s.io)."""
    return f"https://raw.githubusercontent.com/k3s-io/k3s/{quote(k3s_version, safe='')}/install.sh"


def render_server_user_data(boot: ServerBoot) -> str:
    """cloud-config for the k3s server: volume mount, k3s config, registry mirror, setup."""
    k3s_config = {
        "node-name": boot.node_name,
        "node-ip": boot.node_ip,
        "advertise-address": boot.node_ip,
        "node-external-ip": boot.public_ipv4,
        "tls-san": [boot.public_ipv4],
        "node-label": [DATA_VOLUME_NODE_LABEL],
        "data-dir": K3S_DATA_DIR,
        "default-local-storage-path": LOCAL_PATH_STORAGE_DIR,
        "write-kubeconfig": K3S_KUBECONFIG_PATH,
        "write-kubeconfig-mode": "0600",
        "token-file": K3S_TOKEN_PATH,
        # Secrets are encrypted at rest in the datastore (on the data volume and its backups).
        "secrets-encryption": True,
    }
    env = _node_env(
        role="server",
        node_name=boot.node_name,
        node_ip=boot.node_ip,
        k3s_version=boot.k3s_version,
        install_script_sha256=boot.install_script_sha256,
        extra={
            "UNRIP_DATA_DEVICE": boot.data_device,
            "UNRIP_DATA_MOUNT": DATA_MOUNT,
            "UNRIP_K3S_DATA_DIR": K3S_DATA_DIR,
            "UNRIP_LOCAL_PATH_DIR": LOCAL_PATH_STORAGE_DIR,
            "UNRIP_NODE_IDENTITY_DIR": NODE_IDENTITY_DIR,
            "UNRIP_KUBECONFIG": K3S_KUBECONFIG_PATH,
        },
    )
    document: dict[str, Any] = {
        # Runs before `mounts` on every boot: the attachment may lag the first boot a little.
        "bootcmd": [_wait_for_block_device(boot.data_device)],
        # fs_spec, mount point, type, options (nofail: a missing volume must not hang boot;
        # k3s itself refuses to start without it), dump, fsck pass.
        "mounts": [[boot.data_device, DATA_MOUNT, DATA_VOLUME_FILESYSTEM, MOUNT_OPTIONS, "0", "2"]],
        **_common(boot.cluster_token, k3s_config, env),
    }
    document["write_files"].append(
        _file(K3S_SERVER_UNIT_DROP_IN, f"[Unit]\nRequiresMountsFor={DATA_MOUNT}\n", "0644")
    )
    return _dump(document)


def render_agent_user_data(boot: AgentBoot) -> str:
    """cloud-config for an agent joining the server over the private network."""
    k3s_config = {
        "server": f"https://{boot.server_ip}:{KUBE_API_PORT}",
        "node-name": boot.node_name,
        "node-ip": boot.node_ip,
        "token-file": K3S_TOKEN_PATH,
    }
    env = _node_env(
        role="agent",
        node_name=boot.node_name,
        node_ip=boot.node_ip,
        k3s_version=boot.k3s_version,
        install_script_sha256=boot.install_script_sha256,
        extra={},
    )
    return _dump(_common(boot.cluster_token, k3s_config, env))


def registries_config() -> dict[str, Any]:
    """containerd pulls REGISTRY_HOST images from Forgejo's NodePort on loopback, plain HTTP."""
    return {
        "mirrors": {REGISTRY_HOST: {"endpoint": [f"http://127.0.0.1:{FORGEJO_REGISTRY_NODEPORT}"]}}
    }


def node_setup_script() -> str:
    """The setup script cloud-init installs and runs once (shipped beside this module)."""
    return resources.files(__package__).joinpath("node_setup.sh").read_text(encoding="utf-8")


def _common(token: str, k3s_config: dict[str, Any], env: str) -> dict[str, Any]:
    return {
        "disable_root": False,  # the operators log in as root (names.SSH_USER) with their keys
        "ssh_pwauth": False,
        # The host key is made on the node at first boot and never leaves it: user data is
        # readable through the metadata service, so no private key may travel in it. The
        # image's keys are deleted; the bootstrap pins the new key on first contact
        # (docs/security.md, "SSH host key").
        "ssh_deletekeys": True,
        "ssh_genkeytypes": ["ed25519"],
        "write_files": [
            _file(K3S_TOKEN_PATH, token + "\n", "0600"),
            _file(K3S_CONFIG_PATH, yaml.safe_dump(k3s_config, sort_keys=False), "0600"),
            _file(K3S_REGISTRIES_PATH, yaml.safe_dump(registries_config()), "0600"),
            _file(NODE_ENV_PATH, env, "0644"),
            _file(NODE_SETUP_PATH, node_setup_script(), "0755"),
        ],
        "runcmd": [[NODE_SETUP_PATH]],
    }


def _node_env(
    *,
    role: str,
    node_name: str,
    node_ip: str,
    k3s_version: str,
    install_script_sha256: str,
    extra: dict[str, str],
) -> str:
    values = {
        "UNRIP_ROLE": role,
        "UNRIP_NODE_NAME": node_name,
        "UNRIP_NODE_IP": node_ip,
        "UNRIP_K3S_VERSION": k3s_version,
        "UNRIP_K3S_INSTALL_URL": k3s_install_url(k3s_version),
        "UNRIP_K3S_INSTALL_SHA256": install_script_sha256,
        "UNRIP_BOOT_MARKER": BOOT_MARKER,
        "UNRIP_POD_CIDR": POD_CIDR,
        "UNRIP_LINK_LOCAL_CIDR": LINK_LOCAL_CIDR,
        "UNRIP_KUBELET_PORT": str(KUBELET_PORT),
        **extra,
    }
    lines = [f"{key}={shlex.quote(value)}" for key, value in values.items()]
    return "# Rendered by unrip_platform.hetzner.cloud_init; read by unrip-node-setup.\n" + (
        "\n".join(lines) + "\n"
    )


def _wait_for_block_device(device: str) -> list[str]:
    rounds = VOLUME_WAIT_SECONDS // 2
    script = (
        f'for _ in $(seq {rounds}); do [ -b "$1" ] && exit 0; sleep 2; done; '
        f'echo "unrip: data volume $1 did not appear within {VOLUME_WAIT_SECONDS}s" >&2; exit 1'
    )
    return ["sh", "-c", script, "unrip-wait-for-volume", device]


def _file(path: str, content: str, permissions: str) -> dict[str, str]:
    return {"path": path, "owner": "root:root", "permissions": permissions, "content": content}


def _with_newline(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


class _Dumper(yaml.SafeDumper):
    """Multi-line strings as literal blocks, so the document on the node stays readable."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def _dump(document: dict[str, Any]) -> str:
    text = "#cloud-config\n" + yaml.dump(
        document, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=1000
    )
    size = len(text.encode("utf-8"))
    if size > USER_DATA_LIMIT_BYTES:
        raise UserDataTooLargeError(
            f"the rendered user data is {size} bytes; Hetzner accepts at most "
            f"{USER_DATA_LIMIT_BYTES}"
        )
    return text
