"""Each Kafka client logs in to the production bus as itself, and only as itself.

The rendered production overlays map each service's own Secret (``bus-<service>``, written by
the cluster project) to ``UNRIP_KAFKA_SASL_*``; the services' settings turn those into
aiokafka's SASL/SCRAM options. No broker here speaks SCRAM (Tansu has no SASL: TOOLS.md), so
the last hop is checked as the mapping from the rendered environment to the client options.
"""

from __future__ import annotations

from typing import Any

import pytest
from unrip.runtime.kafka import security_options
from unrip.runtime.settings import ServiceSettings
from unrip_platform import names
from unrip_platform.cluster import bus_acls
from unrip_platform.cluster.render import render_manifests
from unrip_platform.cluster.settings import ClusterSettings

from tests.platform.delivery.conftest import Manifest, containers, env, workloads

pytestmark = pytest.mark.platform

PRODUCTION = (names.OVERLAY_PRODUCTION, names.OVERLAY_PRODUCTION_LIVE)


def secret_refs(workload: Manifest) -> set[tuple[str, str]]:
    """Every (Secret, key) a workload's pods can read: env, envFrom and volumes."""
    refs: set[tuple[str, str]] = set()
    spec = workload["spec"]["template"]["spec"]
    for container in containers(workload):
        for value in env(container).values():
            if isinstance(value, dict) and "secretKeyRef" in value:
                refs.add((value["secretKeyRef"]["name"], value["secretKeyRef"]["key"]))
        for source in container.get("envFrom", []):
            if "secretRef" in source:
                refs.add((source["secretRef"]["name"], "*"))
    for volume in spec.get("volumes", []):
        if "secret" in volume:
            refs.add((volume["secret"]["secretName"], "*"))
        for projected in volume.get("projected", {}).get("sources", []):
            if "secret" in projected:
                refs.add((projected["secret"]["name"], "*"))
    return refs


def apps(manifests: list[Manifest]) -> dict[str, Manifest]:
    return {w["metadata"]["name"]: w for w in workloads(manifests, names.NAMESPACE_APPS)}


def shared_env(manifests: list[Manifest]) -> dict[str, str]:
    [configmap] = [
        m
        for m in manifests
        if m["kind"] == "ConfigMap" and m["metadata"]["name"].startswith("unrip-env")
    ]
    return dict(configmap["data"])


@pytest.mark.parametrize("overlay", PRODUCTION)
def test_each_kafka_client_reads_its_own_bus_secret_and_no_other(
    rendered: dict[str, list[Manifest]], overlay: str
) -> None:
    workloads_by_name = apps(rendered[overlay])
    for service in bus_acls.APP_SERVICES:
        bus = {ref for ref in secret_refs(workloads_by_name[service]) if ref[0].startswith("bus-")}
        own = names.bus_secret(service)
        assert bus == {(own, "username"), (own, "password")}, (overlay, service)
        [main] = containers(workloads_by_name[service], init=False)
        assert env(main)["UNRIP_KAFKA_SASL_USERNAME"]["secretKeyRef"] == {
            "name": own,
            "key": names.BUS_SECRET_USERNAME_KEY,
        }
        assert env(main)["UNRIP_KAFKA_SASL_PASSWORD"]["secretKeyRef"] == {
            "name": own,
            "key": names.BUS_SECRET_PASSWORD_KEY,
        }
    # Everything else in apps (the paper venue) holds no bus login at all.
    for name, workload in workloads_by_name.items():
        if name not in bus_acls.APP_SERVICES:
            assert not [r for r in secret_refs(workload) if r[0].startswith("bus-")], name


@pytest.mark.parametrize("overlay", PRODUCTION)
def test_production_clients_speak_sasl_scram(
    rendered: dict[str, list[Manifest]], overlay: str
) -> None:
    shared = shared_env(rendered[overlay])
    assert shared["UNRIP_KAFKA_SECURITY_PROTOCOL"] == "SASL_PLAINTEXT"
    assert shared["UNRIP_KAFKA_SASL_MECHANISM"] == names.BUS_SASL_MECHANISM


def test_every_bus_principal_of_the_apps_has_a_workload(
    rendered: dict[str, list[Manifest]],
) -> None:
    assert set(bus_acls.APP_SERVICES) <= set(apps(rendered[names.OVERLAY_PRODUCTION]))


def test_the_local_overlay_stays_plaintext_without_bus_secrets(
    rendered: dict[str, list[Manifest]],
) -> None:
    manifests = rendered[names.OVERLAY_LOCAL]
    assert "UNRIP_KAFKA_SECURITY_PROTOCOL" not in shared_env(manifests)
    for name, workload in apps(manifests).items():
        assert not [r for r in secret_refs(workload) if r[0].startswith("bus-")], name


def resolve(
    container: dict[str, Any], shared: dict[str, str], secrets: dict[tuple[str, str], str]
) -> dict[str, str]:
    """The container's UNRIP_* environment as the kubelet would give it."""
    resolved = {k: v for k, v in shared.items() if k.startswith("UNRIP_KAFKA")}
    for name, value in env(container).items():
        if isinstance(value, str):
            resolved[name] = value
        elif "secretKeyRef" in value:
            ref = value["secretKeyRef"]
            if ref["name"].startswith("bus-"):
                resolved[name] = secrets[(ref["name"], ref["key"])]
    return {k: v for k, v in resolved.items() if k.startswith("UNRIP_KAFKA")}


def test_the_rendered_login_becomes_each_services_scram_client_options(
    rendered: dict[str, list[Manifest]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The cluster project's Secrets (placeholder values offline) are what the kubelet resolves.
    secrets = {
        (m["metadata"]["name"], key): value
        for m in render_manifests(ClusterSettings())
        if m["kind"] == "Secret" and m["metadata"]["namespace"] == names.NAMESPACE_APPS
        for key, value in m.get("stringData", {}).items()
    }
    manifests = rendered[names.OVERLAY_PRODUCTION]
    shared = shared_env(manifests)
    for service in bus_acls.APP_SERVICES:
        [main] = containers(apps(manifests)[service], init=False)
        for name, value in resolve(main, shared, secrets).items():
            monkeypatch.setenv(name, value)
        options = security_options(ServiceSettings())
        assert options == {
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": "SCRAM-SHA-256",
            "sasl_plain_username": f"unrip-{service}",
            "sasl_plain_password": f"placeholder-bus-{service}",
        }, service


@pytest.mark.parametrize("overlay", PRODUCTION)
def test_no_app_identity_may_read_secrets_through_the_api(
    rendered: dict[str, list[Manifest]], overlay: str
) -> None:
    # Only the kubelet hands a pod its own bus-<service> keys; no Role lets a service fetch
    # another's through the API.
    for role in (m for m in rendered[overlay] if m["kind"] in ("Role", "ClusterRole")):
        for rule in role["rules"]:
            assert not {"secrets", "*"} & set(rule["resources"]), role["metadata"]["name"]
