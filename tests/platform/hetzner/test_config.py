"""The stack config an operator writes: accepted, normalised, or rejected by key."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Callable

import pytest
from unrip_platform.hetzner import ConfigError, HetznerSettings, settings_from_config
from unrip_platform.hetzner.config import DEFAULT_K3S_VERSION
from unrip_platform.hetzner.ssh_keys import parse_ssh_public_key

from tests.fake_keys import pem_header
from tests.platform.hetzner.sample_config import (
    INSTALLER_SHA256,
    OPERATOR_KEY,
    SECOND_KEY,
    STACK,
    raw_config,
)

pytestmark = pytest.mark.platform

Settings = Callable[..., HetznerSettings]


def rejection(**overrides: object) -> str:
    with pytest.raises(ConfigError) as raised:
        settings_from_config(raw_config(**overrides), stack=STACK)
    return str(raised.value)


def test_minimal_config_gets_pinned_defaults(make_settings: Settings) -> None:
    settings = make_settings()

    assert settings.name_prefix == "unrip-test"
    assert settings.k3s_version == DEFAULT_K3S_VERSION
    assert settings.node_count == 1
    assert settings.protect_data is True
    assert settings.apply_server_changes is False
    assert settings.network_zone == "eu-central"
    assert settings.node_private_ip(0) == "10.0.1.10"


def test_bare_address_means_one_host_and_duplicates_collapse(make_settings: Settings) -> None:
    settings = make_settings(operatorCidrs=["198.51.100.7", "198.51.100.7/32", "2001:db8::/48"])

    assert [str(c) for c in settings.operator_cidrs] == ["198.51.100.7/32", "2001:db8::/48"]


def test_ssh_key_is_normalised_and_fingerprinted(make_settings: Settings) -> None:
    settings = make_settings(sshPublicKeys=["  " + OPERATOR_KEY.replace(" ", "   ", 1) + "\n"])

    (key,) = settings.ssh_public_keys
    assert key.openssh == OPERATOR_KEY
    assert key.fingerprint.startswith("SHA256:")
    assert key.short_id == parse_ssh_public_key(OPERATOR_KEY).short_id


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"sshPublicKeys": None}, "unrip-hetzner:sshPublicKeys: required"),
        ({"operatorCidrs": None}, "unrip-hetzner:operatorCidrs: required"),
        ({"operatorCidrs": []}, "unrip-hetzner:operatorCidrs: must list at least one entry"),
        ({"operatorCidrs": "198.51.100.7/32"}, "unrip-hetzner:operatorCidrs: must be a list"),
        ({"operatorCidrs": ["0.0.0.0/0"]}, "allowOpenAdminAccess"),
        ({"operatorCidrs": ["::/0"]}, "allowOpenAdminAccess"),
        ({"operatorCidrs": ["0.0.0.0/1", "128.0.0.0/1"]}, "large part of the internet"),
        (
            {"operatorCidrs": ["198.51.100.7/24"]},
            "operatorCidrs[0]: '198.51.100.7/24' has host bits set; did you mean "
            "198.51.100.0/24 or 198.51.100.7/32?",
        ),
        ({"operatorCidrs": ["example.com"]}, "operatorCidrs[0]: 'example.com' is not an IP"),
        ({"sshPublicKeys": ["ssh-dss AAAAB3NzaC1kc3M="]}, "unsupported key type 'ssh-dss'"),
        ({"sshPublicKeys": [pem_header()]}, "this is a private key"),
        (
            {"sshPublicKeys": ["ssh-rsa " + OPERATOR_KEY.split()[1]]},
            "sshPublicKeys[0]: the key body does not encode a ssh-rsa key",
        ),
        ({"sshPublicKeys": [OPERATOR_KEY, OPERATOR_KEY]}, "entry 1 is the same key as entry 0"),
        ({"k3sVersion": "latest"}, "k3sVersion: 'latest' is not a pinned k3s release"),
        ({"k3sVersion": "1.36.4"}, "is not a pinned k3s release"),
        ({"k3sInstallScriptSha256": "abc"}, "k3sInstallScriptSha256: must be the 64"),
        ({"location": "fra1"}, "unknown location 'fra1'; use one of fsn1, nbg1"),
        ({"serverType": "big one"}, "serverType: 'big one' is not a Hetzner server type"),
        ({"nodeCount": 0}, "nodeCount: Input should be greater than or equal to 1"),
        ({"nodeCount": 11}, "nodeCount: Input should be less than or equal to 10"),
        ({"nodeCount": "two"}, "nodeCount: Input should be a valid integer"),
        ({"volumeSizeGb": 5}, "volumeSizeGb: Input should be greater than or equal to 10"),
        ({"namePrefix": "Unrip_Prod"}, "namePrefix: 'Unrip_Prod' must be 2-40 lowercase"),
        ({"networkCidr": "8.8.0.0/16"}, "networkCidr: 8.8.0.0/16 must be a private IPv4"),
        ({"subnetCidr": "10.9.0.0/24"}, "subnetCidr 10.9.0.0/24 must lie inside networkCidr"),
        (
            {"subnetCidr": "10.0.1.0/28", "nodeCount": 6},
            "subnetCidr 10.0.1.0/28 is too small for 6 nodes",
        ),
        ({"protectData": "maybe"}, "protectData: Input should be a valid boolean"),
        ({"operatorCIDRs": ["198.51.100.7/32"]}, "unrip-hetzner:operatorCIDRs: unknown setting"),
    ],
)
def test_bad_config_is_rejected_naming_the_key(overrides: dict[str, object], expected: str) -> None:
    message = rejection(**overrides)

    assert expected in message
    assert message.startswith("the unrip-hetzner stack config is invalid:")


def test_every_problem_is_reported_at_once() -> None:
    message = rejection(operatorCidrs=["0.0.0.0/33"], location="mars", nodeCount=99, typo=1)

    problem_lines = message.splitlines()[1:]
    assert len(problem_lines) == 4
    for key in ("operatorCidrs[0]", "location", "nodeCount", "typo"):
        assert any(line.strip().startswith(f"unrip-hetzner:{key}:") for line in problem_lines)


def test_world_open_admin_access_needs_explicit_consent(make_settings: Settings) -> None:
    settings = make_settings(operatorCidrs=["0.0.0.0/0", "::/0"], allowOpenAdminAccess=True)

    assert set(settings.operator_cidrs) == {
        ipaddress.ip_network("0.0.0.0/0"),
        ipaddress.ip_network("::/0"),
    }


def test_two_distinct_keys_are_both_kept(make_settings: Settings) -> None:
    settings = make_settings(sshPublicKeys=[OPERATOR_KEY, SECOND_KEY])

    assert [k.openssh for k in settings.ssh_public_keys] == [OPERATOR_KEY, SECOND_KEY]
    assert len({k.short_id for k in settings.ssh_public_keys}) == 2


def test_nodes_get_consecutive_private_addresses(make_settings: Settings) -> None:
    settings = make_settings(nodeCount=3, subnetCidr="10.0.7.0/24")

    assert [settings.node_private_ip(i) for i in range(3)] == [
        "10.0.7.10",
        "10.0.7.11",
        "10.0.7.12",
    ]
    with pytest.raises(IndexError):
        settings.node_private_ip(3)


def test_list_values_may_arrive_already_decoded() -> None:
    settings = settings_from_config(
        {
            "sshPublicKeys": [OPERATOR_KEY],
            "operatorCidrs": json.loads('["198.51.100.0/24"]'),
            "k3sInstallScriptSha256": INSTALLER_SHA256,
        },
        stack="Prod",
    )

    assert settings.name_prefix == "unrip-prod"
    assert [str(c) for c in settings.operator_cidrs] == ["198.51.100.0/24"]
