"""The node setup script, run for real against a scratch directory.

Only what cannot exist here is stubbed, on PATH: `ip`, `mountpoint`, `curl` (which hands out
a fake k3s installer), `k3s` and `systemctl`. The settings file is the one the renderer
writes, with its paths moved into the scratch directory.
"""

from __future__ import annotations

import hashlib
import os
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from unrip_platform.hetzner.cloud_init import (
    NODE_ENV_PATH,
    AgentBoot,
    ServerBoot,
    node_setup_script,
    render_agent_user_data,
    render_server_user_data,
)

pytestmark = pytest.mark.platform

FAKE_INSTALLER = """#!/bin/sh
echo "installer version=$INSTALL_K3S_VERSION exec=$INSTALL_K3S_EXEC" >>"$STUB_LOG"
if [ "$INSTALL_K3S_EXEC" = server ]; then
    echo "apiVersion: v1" >"$STUB_KUBECONFIG"
    chmod 0644 "$STUB_KUBECONFIG"
fi
"""
INSTALLER_SHA256 = hashlib.sha256(FAKE_INSTALLER.encode()).hexdigest()
SERVER = ServerBoot(
    node_name="unrip-t-node-0",
    node_ip="10.0.1.10",
    public_ipv4="203.0.113.10",
    data_device="/dev/disk/by-id/scsi-0HC_Volume_7",
    k3s_version="v1.36.4+k3s1",
    cluster_token="t" * 48,
    install_script_sha256=INSTALLER_SHA256,
)
AGENT = AgentBoot(
    node_name="unrip-t-node-1",
    node_ip="10.0.1.11",
    server_ip="10.0.1.10",
    k3s_version="v1.36.4+k3s1",
    cluster_token="t" * 48,
    install_script_sha256=INSTALLER_SHA256,
)
IP_ADDR = """\
1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
2: eth0    inet 203.0.113.10/32 metric 100 scope global dynamic eth0\\       valid_lft 86000sec
3: enp7s0    inet {node_ip}/32 brd {node_ip} scope global dynamic enp7s0\\       valid_lft 86000sec
"""
STUBS = {
    "ip": 'cat "$STUB_IP_ADDR"',
    "mountpoint": 'echo "mountpoint $*" >>"$STUB_LOG"; exit "$STUB_MOUNTPOINT_STATUS"',
    "curl": (
        'echo "curl $*" >>"$STUB_LOG"\n'
        'while [ $# -gt 0 ]; do if [ "$1" = -o ]; then out=$2; fi; shift; done\n'
        'cp "$STUB_INSTALLER" "$out"'
    ),
    "k3s": 'echo "k3s $*" >>"$STUB_LOG"',
    "systemctl": 'echo "systemctl $*" >>"$STUB_LOG"',
    # The raw table's PREROUTING as a file of rules: -C finds a rule, -I adds one.
    "iptables": (
        'echo "iptables $*" >>"$STUB_LOG"; touch "$STUB_IPTABLES"\n'
        'shift 3; op=$1; shift 2; if [ "$op" = -I ]; then shift; fi\n'
        'if [ "$op" = -C ]; then grep -qxF -- "$*" "$STUB_IPTABLES"; exit $?; fi\n'
        'echo "$*" >>"$STUB_IPTABLES"'
    ),
}


@dataclass
class Run:
    returncode: int
    stderr: str
    root: Path
    env: dict[str, str]

    @property
    def calls(self) -> list[str]:
        log = self.root / "calls.log"
        return log.read_text().splitlines() if log.exists() else []

    @property
    def marker(self) -> Path:
        return Path(self.env["UNRIP_BOOT_MARKER"])

    def marker_fields(self, path: Path) -> dict[str, str]:
        return dict(line.split("=", 1) for line in path.read_text().splitlines())


def rendered_env(user_data: str) -> dict[str, str]:
    files = {f["path"]: f["content"] for f in yaml.safe_load(user_data)["write_files"]}
    env = {}
    for line in files[NODE_ENV_PATH].splitlines():
        if line and not line.startswith("#"):
            key, value = line.split("=", 1)
            env[key] = " ".join(shlex.split(value))
    return env


def run_setup(
    tmp_path: Path,
    user_data: str,
    *,
    mounted: bool = True,
    sha256: str | None = None,
    args: tuple[str, ...] = (),
) -> Run:
    env = rendered_env(user_data)
    for key, value in list(env.items()):
        if value.startswith("/"):
            env[key] = str(tmp_path / "fs" / value.lstrip("/"))
    if sha256 is not None:
        env["UNRIP_K3S_INSTALL_SHA256"] = sha256
    env_file = tmp_path / "node.env"
    env_file.write_text("".join(f"{k}={shlex.quote(v)}\n" for k, v in env.items()))

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, body in STUBS.items():
        stub = bin_dir / name
        stub.write_text(f"#!/bin/sh\n{body}\n")
        stub.chmod(0o755)
    (tmp_path / "ip-addr.txt").write_text(IP_ADDR.format(node_ip=env["UNRIP_NODE_IP"]))
    (tmp_path / "installer.sh").write_text(FAKE_INSTALLER)
    script = tmp_path / "unrip-node-setup"
    script.write_text(node_setup_script())

    result = subprocess.run(
        ["bash", str(script), *args],
        env={
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "UNRIP_NODE_ENV": str(env_file),
            "UNRIP_RANCHER_DIR": str(tmp_path / "fs" / "etc" / "rancher"),
            "STUB_LOG": str(tmp_path / "calls.log"),
            "STUB_IP_ADDR": str(tmp_path / "ip-addr.txt"),
            "STUB_INSTALLER": str(tmp_path / "installer.sh"),
            "STUB_MOUNTPOINT_STATUS": "0" if mounted else "1",
            "STUB_KUBECONFIG": env.get("UNRIP_KUBECONFIG", str(tmp_path / "unused")),
            "STUB_IPTABLES": str(tmp_path / "iptables-raw-prerouting"),
            "UNRIP_SYSTEMD_DIR": str(tmp_path / "fs" / "etc" / "systemd" / "system"),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return Run(result.returncode, result.stderr, tmp_path, env)


def test_server_boot_installs_k3s_and_writes_the_marker(tmp_path: Path) -> None:
    run = run_setup(tmp_path, render_server_user_data(SERVER))

    assert run.returncode == 0, run.stderr
    assert run.marker_fields(run.marker) == {
        "node": "unrip-t-node-0",
        "role": "server",
        "k3s_version": "v1.36.4+k3s1",
        "completed_at": run.marker_fields(run.marker)["completed_at"],
    }
    assert not Path(f"{run.marker}.failed").exists()
    assert "installer version=v1.36.4+k3s1 exec=server" in run.calls
    curl = next(c for c in run.calls if c.startswith("curl "))
    assert curl.endswith("https://raw.githubusercontent.com/k3s-io/k3s/v1.36.4%2Bk3s1/install.sh")
    rancher = tmp_path / "fs" / "etc" / "rancher"
    flannel = rancher / "k3s" / "config.yaml.d" / "50-unrip-private-interface.yaml"
    assert flannel.read_text() == "flannel-iface: enp7s0\n"
    assert (rancher / "node").resolve() == Path(run.env["UNRIP_NODE_IDENTITY_DIR"]).resolve()
    assert Path(run.env["UNRIP_K3S_DATA_DIR"]).is_dir()
    assert Path(run.env["UNRIP_LOCAL_PATH_DIR"]).is_dir()
    assert Path(run.env["UNRIP_KUBECONFIG"]).stat().st_mode & 0o777 == 0o600
    assert any(c.startswith("k3s kubectl") and "node/unrip-t-node-0" in c for c in run.calls)


def test_server_refuses_to_start_k3s_without_the_data_volume(tmp_path: Path) -> None:
    run = run_setup(tmp_path, render_server_user_data(SERVER), mounted=False)

    assert run.returncode != 0
    assert not run.marker.exists()
    failure = run.marker_fields(Path(f"{run.marker}.failed"))
    assert failure["step"].startswith("checking that the data volume is mounted")
    assert not any(c.startswith(("curl", "installer")) for c in run.calls)
    assert "refusing to keep cluster data on the root disk" in run.stderr


def test_installer_with_the_wrong_checksum_is_never_run(tmp_path: Path) -> None:
    run = run_setup(tmp_path, render_server_user_data(SERVER), sha256="0" * 64)

    assert run.returncode != 0
    failure = run.marker_fields(Path(f"{run.marker}.failed"))
    assert failure["step"] == "verifying the k3s installer checksum"
    assert not any(c.startswith("installer") for c in run.calls)


def test_installer_with_the_pinned_checksum_runs(tmp_path: Path) -> None:
    run = run_setup(tmp_path, render_server_user_data(SERVER), sha256=INSTALLER_SHA256)

    assert run.returncode == 0, run.stderr
    assert run.marker.exists()


def test_agent_boot_needs_no_volume_and_waits_for_its_service(tmp_path: Path) -> None:
    run = run_setup(tmp_path, render_agent_user_data(AGENT), mounted=False)

    assert run.returncode == 0, run.stderr
    assert run.marker_fields(run.marker)["role"] == "agent"
    assert "installer version=v1.36.4+k3s1 exec=agent" in run.calls
    assert "systemctl is-active --quiet k3s-agent" in run.calls
    assert not any(c.startswith("mountpoint") for c in run.calls)


POD_GUARD = [
    "-s 10.42.0.0/16 -d 169.254.0.0/16 -j DROP",
    "-s 10.42.0.0/16 -p tcp --dport 10250 -j DROP",
]


def pod_guard_rules(run: Run) -> list[str]:
    return (run.root / "iptables-raw-prerouting").read_text().splitlines()


@pytest.mark.parametrize("render", ["server", "agent"])
def test_every_node_blocks_the_metadata_service_and_the_kubelet_for_pods_before_k3s(
    tmp_path: Path, render: str
) -> None:
    user_data = (
        render_server_user_data(SERVER) if render == "server" else render_agent_user_data(AGENT)
    )
    run = run_setup(tmp_path, user_data)

    assert run.returncode == 0, run.stderr
    assert pod_guard_rules(run) == POD_GUARD
    first_iptables = next(i for i, c in enumerate(run.calls) if c.startswith("iptables"))
    installer = run.calls.index(next(c for c in run.calls if c.startswith("installer")))
    assert first_iptables < installer


def test_the_pod_guard_survives_reboots_as_a_unit_ordered_before_k3s(tmp_path: Path) -> None:
    run = run_setup(tmp_path, render_server_user_data(SERVER))

    unit = tmp_path / "fs" / "etc" / "systemd" / "system" / "unrip-pod-guard.service"
    text = unit.read_text()
    assert "Before=network-pre.target k3s.service k3s-agent.service" in text
    assert "RequiredBy=k3s.service k3s-agent.service" in text
    assert f"ExecStart={tmp_path / 'unrip-node-setup'} pod-guard" in text
    assert "systemctl enable unrip-pod-guard.service" in run.calls


def test_reapplying_the_pod_guard_on_boot_adds_no_duplicate_rules(tmp_path: Path) -> None:
    user_data = render_server_user_data(SERVER)
    run_setup(tmp_path, user_data)
    (tmp_path / "calls.log").unlink()

    reboot = run_setup(tmp_path, user_data, args=("pod-guard",))

    assert reboot.returncode == 0, reboot.stderr
    assert pod_guard_rules(reboot) == POD_GUARD
    assert not any(c.startswith(("curl", "installer")) for c in reboot.calls)


def test_an_installer_without_a_pinned_checksum_is_never_run(tmp_path: Path) -> None:
    run = run_setup(tmp_path, render_server_user_data(SERVER), sha256="")

    assert run.returncode != 0
    failure = run.marker_fields(Path(f"{run.marker}.failed"))
    assert failure["step"] == "verifying the k3s installer checksum"
    assert not any(c.startswith("installer") for c in run.calls)
