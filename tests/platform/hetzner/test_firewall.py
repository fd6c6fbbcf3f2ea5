"""What the firewall lets in: SSH and the API for operators, HTTP(S) for all, nothing else."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from unrip_platform.hetzner import HetznerSettings
from unrip_platform.hetzner.firewall import FirewallRule, Opening, inbound_rules, node_openings

pytestmark = pytest.mark.platform

Settings = Callable[..., HetznerSettings]
WORLD = ("0.0.0.0/0", "::/0")


def by_port(rules: list[FirewallRule]) -> dict[str, FirewallRule]:
    return {rule.port: rule for rule in rules}


def test_only_ssh_and_the_api_are_open_and_only_to_the_operators(make_settings: Settings) -> None:
    rules = inbound_rules(node_openings(make_settings(operatorCidrs=["198.51.100.7/32"])))

    assert {(r.direction, r.protocol, r.port) for r in rules} == {
        ("in", "tcp", "22"),
        ("in", "tcp", "6443"),
    }  # no 80/443: nothing is published through an ingress
    ports = by_port(rules)
    assert ports["22"].source_ips == ("198.51.100.7/32",)
    assert ports["6443"].source_ips == ("198.51.100.7/32",)


def test_operator_networks_are_merged_and_covered_ones_dropped(make_settings: Settings) -> None:
    settings = make_settings(
        operatorCidrs=["2001:db8::/32", "198.51.100.0/25", "198.51.100.128/25", "198.51.100.9"]
    )

    ssh = by_port(inbound_rules(node_openings(settings)))["22"]

    assert ssh.source_ips == ("198.51.100.0/24", "2001:db8::/32")


def test_openings_on_the_same_port_become_one_rule() -> None:
    operators = (ipaddress.ip_network("198.51.100.7/32"),)
    office = (ipaddress.ip_network("192.0.2.0/24"), ipaddress.ip_network("198.51.100.7/32"))

    rules = inbound_rules(
        [
            Opening("tcp", 22, operators, "SSH from the operators"),
            Opening("tcp", 22, office, "SSH from the office"),
            Opening("udp", 22, office, "not the same rule: other protocol"),
        ]
    )

    assert [(r.protocol, r.port) for r in rules] == [("tcp", "22"), ("udp", "22")]
    assert rules[0].source_ips == ("192.0.2.0/24", "198.51.100.7/32")
    assert rules[0].description == "SSH from the operators; SSH from the office"


def test_world_open_operators_open_ssh_to_the_world(make_settings: Settings) -> None:
    settings = make_settings(operatorCidrs=["0.0.0.0/0", "::/0"], allowOpenAdminAccess=True)

    ports = by_port(inbound_rules(node_openings(settings)))

    assert ports["22"].source_ips == WORLD


networks = st.one_of(
    st.ip_addresses(v=4).flatmap(
        lambda a: st.integers(8, 32).map(lambda p: ipaddress.ip_network(f"{a}/{p}", strict=False))
    ),
    st.ip_addresses(v=6).flatmap(
        lambda a: st.integers(16, 128).map(lambda p: ipaddress.ip_network(f"{a}/{p}", strict=False))
    ),
)
openings = st.builds(
    Opening,
    protocol=st.sampled_from(["tcp", "udp"]),
    port=st.sampled_from([22, 80, 443, 6443]),
    sources=st.lists(networks, min_size=1, max_size=5).map(tuple),
    description=st.sampled_from(["a", "b", "c"]),
)


@given(st.lists(openings, min_size=1, max_size=8))
def test_rules_are_unique_and_admit_exactly_what_was_opened(opened: list[Opening]) -> None:
    rules = inbound_rules(opened)

    keys = [(r.direction, r.protocol, r.port) for r in rules]
    assert len(keys) == len(set(keys))
    for rule in rules:
        wanted = [
            net
            for o in opened
            if (o.protocol, str(o.port)) == (rule.protocol, rule.port)
            for net in o.sources
        ]
        allowed = [ipaddress.ip_network(s) for s in rule.source_ips]
        # CIDR blocks are either nested or disjoint: the outermost wanted ones partition the
        # wanted addresses, so address counts compare the sets exactly.
        outermost = {
            w
            for w in wanted
            if not any(w != o and w.subnet_of(o) for o in wanted if o.version == w.version)  # type: ignore[arg-type]
        }
        for a in allowed:
            inside = [w for w in outermost if w.version == a.version and w.subnet_of(a)]  # type: ignore[arg-type]
            assert sum(w.num_addresses for w in inside) == a.num_addresses
        assert sum(a.num_addresses for a in allowed) == sum(w.num_addresses for w in outermost)
        assert len(rule.description) <= 255
