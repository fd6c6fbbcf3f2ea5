"""No pod reaches the node's secrets: every rendered NetworkPolicy, checked against the addresses
that matter (issue 14).

The policies are the cluster project's (rendered as Pulumi applies them) and every manifests
overlay's (rendered by the real ``kubectl kustomize``, as a deploy renders them). Production is
the cluster project plus the hetzner-single-node overlay in the same cluster.
"""

from __future__ import annotations

import pytest
from unrip_platform import names
from unrip_platform.cluster.render import render_manifests
from unrip_platform.cluster.settings import ClusterSettings
from unrip_platform.delivery import checks
from unrip_platform.validation.egress import (
    KUBELET_PORT,
    METADATA_ADDRESS,
    Manifest,
    grants,
    namespaces_without_default_deny,
)

pytestmark = pytest.mark.platform

NETWORK = ClusterSettings().network
SERVER = NETWORK.api_server_ip  # node 0: the API server and a kubelet
AGENT = "10.0.1.11"  # another node of the private subnet
PUBLIC_NODE = "203.0.113.10"  # a node's public address: the cluster cannot know it
PORTS_OF_NOTE = (22, 80, 443, names.KUBE_API_PORT, KUBELET_PORT, 2379, 8080)


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[Manifest]]:
    cluster = render_manifests(ClusterSettings())
    overlays = {name: checks.render_overlay(name) for name in checks.overlay_names()}
    return {
        "cluster project": cluster,
        **{f"overlay {name}": manifests for name, manifests in overlays.items()},
        "production": [*cluster, *overlays[names.OVERLAY_PRODUCTION]],
    }


def test_no_policy_lets_a_pod_reach_the_metadata_service_on_any_port(
    rendered: dict[str, list[Manifest]],
) -> None:
    for where, manifests in rendered.items():
        for port in PORTS_OF_NOTE:
            assert grants(manifests, METADATA_ADDRESS, port) == [], (where, port)


def test_no_policy_lets_a_pod_reach_any_nodes_kubelet(
    rendered: dict[str, list[Manifest]],
) -> None:
    for where, manifests in rendered.items():
        for node in (SERVER, AGENT, PUBLIC_NODE):
            assert grants(manifests, node, KUBELET_PORT) == [], (where, node)


def test_only_the_api_clients_reach_the_api_server_and_only_at_its_address(
    rendered: dict[str, list[Manifest]],
) -> None:
    api = names.KUBE_API_PORT
    for where, manifests in rendered.items():
        assert grants(manifests, AGENT, api) == [], where
        assert grants(manifests, PUBLIC_NODE, api) == [], where
        assert grants(manifests, "198.51.100.7", api) == [], where  # no 0.0.0.0/0:6443
        allowed = {grant.policy for grant in grants(manifests, SERVER, api)}
        # The reactor (and in live mode the executor) reads the strategy ConfigMap, the deploy
        # agent deploys, Prometheus discovers its targets and kube-state-metrics watches
        # objects: nobody else talks to the API, the CI runner least of all.
        assert allowed <= {
            "reactor-kube-api",
            "executor-kube-api",  # live mode: the kill switch reads the strategy ConfigMap
            "deploy-agent",
            "prometheus",
            "kube-state-metrics",
        }, where


def test_every_namespace_with_pods_denies_egress_by_default_in_production(
    rendered: dict[str, list[Manifest]],
) -> None:
    assert namespaces_without_default_deny(rendered["production"]) == set()


def test_the_checker_sees_an_open_policy_and_a_missing_one() -> None:
    open_policy: Manifest = {
        "kind": "NetworkPolicy",
        "metadata": {"name": "open", "namespace": "apps"},
        "spec": {
            "podSelector": {},
            "policyTypes": ["Egress"],
            "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["10.0.0.0/8"]}}]}],
        },
    }
    job: Manifest = {"kind": "Job", "metadata": {"name": "j", "namespace": "ci"}}
    assert [str(g) for g in grants([open_policy], METADATA_ADDRESS, 80)] == ["apps/open egress[0]"]
    assert grants([open_policy], SERVER, KUBELET_PORT) == []
    assert namespaces_without_default_deny([open_policy, job]) == {"ci"}
