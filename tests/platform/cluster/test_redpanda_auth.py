"""The rendered Redpanda enforces SASL/SCRAM and authorization; each workload logs in as itself.

What the cluster project renders (placeholder secrets offline): the broker's config, its
superuser, the jobs' logins, the Secrets, and who may reach the Admin API where users are made.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from unrip_platform import names
from unrip_platform.cluster import bus_access, bus_acls
from unrip_platform.cluster.namespaces import REDPANDA_ADMIN_PORT
from unrip_platform.cluster.redpanda import SUPERUSER

pytestmark = pytest.mark.platform

PRINCIPALS = bus_acls.PRINCIPALS


def _configs(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    configmap = next(
        m for m in manifests if m["kind"] == "ConfigMap" and m["metadata"]["name"] == "redpanda"
    )
    return {key: yaml.safe_load(value) for key, value in configmap["data"].items()}


def _env(manifests: list[dict[str, Any]], kind: str, prefix: str) -> dict[str, Any]:
    [workload] = [
        m for m in manifests if m["kind"] == kind and m["metadata"]["name"].startswith(prefix)
    ]
    [container] = workload["spec"]["template"]["spec"]["containers"]
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def test_the_rendered_redpanda_takes_only_sasl_and_authorizes_every_request(
    manifests: list[dict[str, Any]],
) -> None:
    configs = _configs(manifests)
    [listener] = configs["redpanda.yaml"]["redpanda"]["kafka_api"]
    assert listener["authentication_method"] == "sasl"
    cluster = configs[".bootstrap.yaml"]
    assert cluster["enable_sasl"] is True
    assert cluster["kafka_enable_authorization"] is True
    assert cluster["sasl_mechanisms"] == ["SCRAM"]
    assert cluster["superusers"] == [SUPERUSER]
    assert cluster["admin_api_require_auth"] is True


def test_the_superuser_is_created_by_redpanda_from_its_secret(
    manifests: list[dict[str, Any]],
) -> None:
    env = _env(manifests, "StatefulSet", "redpanda")
    assert env["RPK_USER"] == SUPERUSER
    assert env["RPK_PASS"] == {
        "secretKeyRef": {"name": "redpanda-superuser", "key": names.BUS_SECRET_PASSWORD_KEY}
    }
    assert env["RP_BOOTSTRAP_USER"] == "$(RPK_USER):$(RPK_PASS):$(RPK_SASL_MECHANISM)"
    assert env["RPK_SASL_MECHANISM"] == names.BUS_SASL_MECHANISM
    # Kubernetes expands $(VAR) only from variables listed before it.
    order = list(env)
    assert max(order.index(v) for v in ("RPK_USER", "RPK_PASS", "RPK_SASL_MECHANISM")) < (
        order.index("RP_BOOTSTRAP_USER")
    )


def test_the_jobs_log_in_as_their_own_users(manifests: list[dict[str, Any]]) -> None:
    topics_job = _env(manifests, "Job", "redpanda-topics-")
    assert topics_job["RPK_USER"] == "unrip-topics"
    assert topics_job["RPK_PASS"]["secretKeyRef"]["name"] == "bus-topics"
    access = _env(manifests, "Job", "redpanda-bus-access-")
    assert access["RPK_USER"] == SUPERUSER
    assert access["ADMIN_HOSTS"] == bus_access.ADMIN_HOSTS
    password_refs = {
        name: ref["secretKeyRef"]
        for name, ref in access.items()
        if name.startswith("BUS_PASSWORD_")
    }
    assert password_refs == {
        bus_access.password_variable(p.service): {"name": "redpanda-bus-users", "key": p.service}
        for p in PRINCIPALS
    }


def test_passwords_live_only_in_secrets(manifests: list[dict[str, Any]]) -> None:
    placeholders = [
        "placeholder-bus-superuser",
        *(f"placeholder-bus-{p.service}" for p in PRINCIPALS),
    ]
    for manifest in manifests:
        if manifest["kind"] == "Secret":
            continue
        text = json.dumps(manifest)
        assert not [p for p in placeholders if p in text], manifest["metadata"]["name"]


def test_each_apps_secret_holds_one_services_login(manifests: list[dict[str, Any]]) -> None:
    secrets = {
        m["metadata"]["name"]: m["stringData"]
        for m in manifests
        if m["kind"] == "Secret"
        and m["metadata"]["namespace"] == names.NAMESPACE_APPS
        and m["metadata"]["name"].startswith(names.BUS_SECRET_PREFIX)
    }
    assert secrets == {
        names.bus_secret(s): {"username": f"unrip-{s}", "password": f"placeholder-bus-{s}"}
        for s in bus_acls.APP_SERVICES
    }


def test_only_brokers_the_bus_access_job_and_prometheus_reach_the_admin_api(
    manifests: list[dict[str, Any]],
) -> None:
    # Users are made through the Admin API: with it open, a pod could mint itself a login.
    admitted = set()
    for policy in (m for m in manifests if m["kind"] == "NetworkPolicy"):
        for rule in policy["spec"].get("ingress", []):
            if any(p.get("port") == REDPANDA_ADMIN_PORT for p in rule.get("ports", [])):
                for peer in rule["from"]:
                    assert set(peer) == {"podSelector"}, policy["metadata"]["name"]
                    admitted.add(peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"])
    assert admitted == {"redpanda", "redpanda-bus-access", "prometheus"}
