"""The resource graph `pulumi up` would create, as the engine would be told it."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import yaml
from unrip_platform.hetzner import HetznerSettings, HetznerStackOutputs, K3sCluster, stack_outputs
from unrip_platform.hetzner.cloud_init import K3S_TOKEN_PATH

from tests.platform.hetzner.cloud_config_schema import cloud_config_problems
from tests.platform.hetzner.pulumi_doubles import (
    TOKEN_SENTINEL,
    Deployment,
    FakeEngine,
)

pytestmark = pytest.mark.platform

Settings = Callable[..., HetznerSettings]
SERVER = "hcloud:index/server:Server"
PRIMARY_IP = "hcloud:index/primaryIp:PrimaryIp"
VOLUME = "hcloud:index/volume:Volume"
ATTACHMENT = "hcloud:index/volumeAttachment:VolumeAttachment"
FIREWALL = "hcloud:index/firewall:Firewall"
NETWORK = "hcloud:index/network:Network"
SUBNET = "hcloud:index/networkSubnet:NetworkSubnet"
SSH_KEY = "hcloud:index/sshKey:SshKey"
TOKEN = "random:index/randomPassword:RandomPassword"


def deploy(engine: FakeEngine, settings: HetznerSettings) -> Deployment:
    return engine.run(lambda: stack_outputs(K3sCluster("unrip", settings)))


def resource_id(deployment: Deployment, type_token: str) -> int:
    """The id the mocks gave the one resource of this type."""
    return int(deployment.one(type_token).id)


def servers(deployment: Deployment) -> dict[str, dict[str, object]]:
    return {r.inputs["name"]: r.inputs for r in deployment.of_type(SERVER)}


def test_single_node_graph(engine: FakeEngine, make_settings: Settings) -> None:
    deployment = deploy(engine, make_settings())

    counts = {
        t: len(deployment.of_type(t))
        for t in (SERVER, PRIMARY_IP, VOLUME, ATTACHMENT, FIREWALL, NETWORK, SUBNET, SSH_KEY, TOKEN)
    }
    assert counts == {
        SERVER: 1,
        PRIMARY_IP: 1,
        VOLUME: 1,
        ATTACHMENT: 1,
        FIREWALL: 1,
        NETWORK: 1,
        SUBNET: 1,
        SSH_KEY: 1,
        TOKEN: 1,
    }


def test_server_is_attached_to_network_firewall_ip_keys_and_volume(
    engine: FakeEngine, make_settings: Settings
) -> None:
    deployment = deploy(engine, make_settings(location="fsn1", serverType="cpx31"))
    server = deployment.one(SERVER).inputs
    ip = deployment.one(PRIMARY_IP)
    volume = deployment.one(VOLUME)
    ssh_key = deployment.one(SSH_KEY)
    attachment = deployment.one(ATTACHMENT).inputs
    server_id = deployment.outputs["serverId"]

    assert (server["name"], server["serverType"], server["location"], server["image"]) == (
        "unrip-test-node-0",
        "cpx31",
        "fsn1",
        "ubuntu-24.04",
    )
    assert server["firewallIds"] == [float(resource_id(deployment, FIREWALL))]
    (network,) = server["networks"]
    assert network == {
        "subnetId": str(resource_id(deployment, SUBNET)),
        "ip": "10.0.1.10",
        "aliasIps": [],
    }
    assert server["publicNets"] == [
        {
            "ipv4Enabled": True,
            "ipv4": float(resource_id(deployment, PRIMARY_IP)),
            "ipv6Enabled": True,
        }
    ]
    assert server["sshKeys"] == [str(resource_id(deployment, SSH_KEY))]
    assert ssh_key.inputs["name"].startswith("unrip-test-")
    assert attachment == {
        "serverId": float(server_id),
        "volumeId": float(resource_id(deployment, VOLUME)),
        "automount": False,
    }
    assert ip.inputs["location"] == volume.inputs["location"] == "fsn1"
    assert deployment.one(SUBNET).inputs["networkZone"] == "eu-central"


def test_firewall_resource_carries_the_deduplicated_rules(
    engine: FakeEngine, make_settings: Settings
) -> None:
    settings = make_settings(operatorCidrs=["198.51.100.7", "198.51.100.7/32", "2001:db8::/48"])
    rules = deploy(engine, settings).one(FIREWALL).inputs["rules"]

    assert sorted(
        (r["direction"], r["protocol"], r["port"], tuple(r["sourceIps"])) for r in rules
    ) == [
        ("in", "tcp", "22", ("198.51.100.7/32", "2001:db8::/48")),
        ("in", "tcp", "6443", ("198.51.100.7/32", "2001:db8::/48")),
    ]


def test_data_and_identity_are_protected(engine: FakeEngine, make_settings: Settings) -> None:
    deployment = deploy(engine, make_settings())
    ip = deployment.one(PRIMARY_IP)
    volume = deployment.one(VOLUME)

    assert ip.protect and volume.protect
    assert deployment.one(TOKEN).protect  # the volume's datastore is encrypted with it
    assert ip.inputs["deleteProtection"] is True and volume.inputs["deleteProtection"] is True
    assert ip.inputs["autoDelete"] is False
    assert ip.inputs["type"] == "ipv4" and ip.inputs["assigneeType"] == "server"
    assert volume.inputs["format"] == "ext4" and volume.inputs["size"] == 50
    # The server itself is disposable: protecting it would block the rebuild path.
    assert not deployment.one(SERVER).protect


def test_protection_can_be_lifted_for_a_deliberate_teardown(
    engine: FakeEngine, make_settings: Settings
) -> None:
    deployment = deploy(engine, make_settings(protectData=False))

    for registration in (deployment.one(PRIMARY_IP), deployment.one(VOLUME)):
        assert not registration.protect
        assert registration.inputs["deleteProtection"] is False
    assert not deployment.one(TOKEN).protect


def test_reruns_do_not_replace_the_server_by_default(
    engine: FakeEngine, make_settings: Settings
) -> None:
    server = deploy(engine, make_settings()).one(SERVER)

    assert set(server.ignore_changes) == {"userData", "image", "sshKeys"}
    assert server.delete_before_replace
    assert server.inputs["shutdownBeforeDeletion"] is True
    assert server.inputs["keepDisk"] is True  # serverType changes stay reversible


def test_operator_can_ask_for_server_changes_to_apply(
    engine: FakeEngine, make_settings: Settings
) -> None:
    server = deploy(engine, make_settings(applyServerChanges=True)).one(SERVER)

    assert server.ignore_changes == []
    assert server.delete_before_replace


def test_user_data_is_secret_valid_and_built_from_the_stable_ip(
    engine: FakeEngine, make_settings: Settings
) -> None:
    deployment = deploy(engine, make_settings())
    server = deployment.one(SERVER)
    user_data = server.inputs["userData"]

    assert server.is_secret("userData")
    assert cloud_config_problems(user_data) == []
    document = yaml.safe_load(user_data)
    k3s = yaml.safe_load(
        next(f for f in document["write_files"] if f["path"].endswith("config.yaml"))["content"]
    )
    assert k3s["tls-san"] == [deployment.outputs["serverIpv4"]]
    assert document["mounts"][0][0] == deployment.outputs["volumeDevice"]
    token_file = next(f for f in document["write_files"] if f["path"] == K3S_TOKEN_PATH)
    assert token_file["content"].strip() == TOKEN_SENTINEL


def test_secrets_never_reach_outputs_inputs_in_clear_or_logs(
    engine: FakeEngine, make_settings: Settings
) -> None:
    deployment = deploy(engine, make_settings(nodeCount=2))

    assert not any(TOKEN_SENTINEL in str(v) for v in deployment.outputs.values())
    # No host key exists in the stack at all: each node makes its own (docs/security.md).
    assert not [r for r in deployment.registrations if r.type.startswith("tls:")]
    for registration in deployment.registrations:
        for key, value in registration.raw_inputs.items():
            assert "PRIVATE KEY" not in str(value), f"{registration.name}.{key}"
            if TOKEN_SENTINEL in str(value):
                assert registration.is_secret(key), f"{registration.name}.{key} is not secret"
    assert not any(TOKEN_SENTINEL in message for message in deployment.log_messages)
    assert deployment.one(TOKEN).inputs == {"length": 48, "special": False}


def test_outputs_tell_the_bootstrap_how_to_reach_the_node(
    engine: FakeEngine, make_settings: Settings
) -> None:
    deployment = deploy(engine, make_settings())
    outputs = HetznerStackOutputs.from_outputs(deployment.outputs)
    ip = deployment.one(PRIMARY_IP)
    ipv4 = outputs.server_ipv4

    assert ipv4.startswith("203.0.113.")
    assert outputs.server_name == "unrip-test-node-0"
    assert outputs.server_private_ip == "10.0.1.10"
    assert outputs.ssh_user == "root"
    assert outputs.kube_api_endpoint == f"https://{ipv4}:6443"
    assert outputs.kubeconfig_path == "/etc/rancher/k3s/k3s.yaml"
    assert f"ssh root@{ipv4} cat /etc/rancher/k3s/k3s.yaml" in outputs.kubeconfig_fetch_command
    assert f"https://{ipv4}:6443" in outputs.kubeconfig_fetch_command
    assert outputs.volume_id == resource_id(deployment, VOLUME)
    assert outputs.volume_device.endswith(f"HC_Volume_{outputs.volume_id}")
    assert outputs.primary_ip_id == resource_id(deployment, PRIMARY_IP)
    assert outputs.boot_marker_path == "/var/lib/unrip/boot-complete"
    assert outputs.node_names == ["unrip-test-node-0"]
    assert ip.inputs["name"] == "unrip-test-node-0-ipv4"


def test_missing_outputs_are_named() -> None:
    with pytest.raises(KeyError, match="serverIpv4"):
        HetznerStackOutputs.from_outputs({"serverName": "x"})


def test_agents_join_over_the_private_network_without_their_own_data(
    engine: FakeEngine, make_settings: Settings
) -> None:
    deployment = deploy(engine, make_settings(nodeCount=3))
    nodes = servers(deployment)

    assert sorted(nodes) == ["unrip-test-node-0", "unrip-test-node-1", "unrip-test-node-2"]
    assert len(deployment.of_type(VOLUME)) == len(deployment.of_type(PRIMARY_IP)) == 1
    assert len(deployment.of_type(ATTACHMENT)) == 1
    server_urn = next(r.urn for r in deployment.of_type(SERVER) if r.inputs["name"].endswith("-0"))
    for index, name in enumerate(["unrip-test-node-1", "unrip-test-node-2"], start=1):
        agent = nodes[name]
        registration = next(r for r in deployment.of_type(SERVER) if r.inputs["name"] == name)
        assert agent["networks"][0]["ip"] == f"10.0.1.{10 + index}"  # type: ignore[index]
        assert agent["publicNets"] == [{"ipv4Enabled": True, "ipv6Enabled": True}]
        assert agent["firewallIds"] == nodes["unrip-test-node-0"]["firewallIds"]
        assert cloud_config_problems(agent["userData"]) == []  # type: ignore[arg-type]
        k3s = yaml.safe_load(
            next(
                f
                for f in yaml.safe_load(agent["userData"])["write_files"]  # type: ignore[arg-type]
                if f["path"].endswith("config.yaml")
            )["content"]
        )
        assert k3s["server"] == "https://10.0.1.10:6443"
        assert registration.is_secret("userData")
        assert set(registration.ignore_changes) == {"userData", "image", "sshKeys"}
        assert server_urn in registration.dependencies  # agents are created after the server
    assert HetznerStackOutputs.from_outputs(deployment.outputs).node_names == sorted(nodes)


def test_ssh_keys_are_named_by_fingerprint_not_position(
    engine: FakeEngine, make_settings: Settings
) -> None:
    from tests.platform.hetzner.sample_config import OPERATOR_KEY, SECOND_KEY

    first = deploy(engine, make_settings(sshPublicKeys=[OPERATOR_KEY, SECOND_KEY]))
    second = deploy(engine, make_settings(sshPublicKeys=[SECOND_KEY, OPERATOR_KEY]))

    assert {r.name for r in first.of_type(SSH_KEY)} == {r.name for r in second.of_type(SSH_KEY)}
    assert {r.inputs["publicKey"] for r in first.of_type(SSH_KEY)} == {OPERATOR_KEY, SECOND_KEY}
