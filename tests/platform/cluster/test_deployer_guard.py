"""The deployer's admission guard, evaluated: its CEL run over real requests (cel-python), not
read as text. What the deploy agent applies from main is admitted; a pod template that would
reach the venue key, another service's bus login or the strategy is refused; nobody else is
affected."""

from __future__ import annotations

import copy
import importlib.util
import sys
from types import ModuleType
from typing import Any

import pytest
from unrip_platform import names
from unrip_platform.cluster import deployer
from unrip_platform.delivery import checks
from unrip_platform.delivery.checks import render_overlay

from tests.platform.cluster.admission import Request, denials

pytestmark = pytest.mark.platform

POLICY = deployer.guard_policy()
BUS_DENIAL = next(v["message"] for v in deployer.guard_validations() if "bus login" in v["message"])


def load_deploy() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ci_deploy", checks.ROOT / "ci" / "deploy.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["ci_deploy"] = module
    spec.loader.exec_module(module)
    return module


def as_deployer(manifest: dict[str, Any], operation: str = "CREATE") -> list[str]:
    return denials(POLICY, Request(operation, deployer.USERNAME, manifest))


def workload(name: str) -> dict[str, Any]:
    (found,) = [
        m
        for m in render_overlay("hetzner-single-node")
        if m["kind"] == "Deployment" and m["metadata"]["name"] == name
    ]
    return copy.deepcopy(found)


def test_everything_the_deploy_agent_applies_from_main_is_admitted() -> None:
    deploy = load_deploy()
    applied = [m for m in render_overlay("hetzner-single-node") if not deploy.operator_owned(m)]
    assert {m["metadata"]["name"] for m in applied if m["kind"] == "Deployment"} >= {
        "executor",
        "reactor",
        "ingest",
    }
    refused = {m["metadata"]["name"]: as_deployer(m) for m in applied}
    assert {name: why for name, why in refused.items() if why} == {}


def test_the_strategy_configmap_is_refused_and_other_configmaps_are_not() -> None:
    strategy: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": names.REACTOR_STRATEGY_CONFIGMAP, "namespace": "apps"},
        "data": {"strategy.yaml": "kill_switch: false\n"},
    }
    assert len(as_deployer(strategy)) == 1
    assert len(denials(POLICY, Request("DELETE", deployer.USERNAME, None, strategy))) == 1
    other = copy.deepcopy(strategy)
    other["metadata"]["name"] = "unrip-env"
    assert as_deployer(other) == []


def test_a_pod_that_reads_the_venue_signing_key_is_refused() -> None:
    ingest = workload("ingest")
    env = ingest["spec"]["template"]["spec"]["containers"][0].setdefault("env", [])
    env.append(
        {
            "name": "STOLEN",
            "valueFrom": {
                "secretKeyRef": {
                    "name": names.APPS_SECRET_NEAR_INTENTS,
                    "key": names.APPS_SECRET_NEAR_INTENTS_SIGNING_KEY_KEY,
                }
            },
        }
    )
    assert len(as_deployer(ingest)) == 1


@pytest.mark.parametrize("path", ["env", "envFrom", "volume", "projected", "initContainer"])
def test_a_pod_that_reads_another_services_bus_login_is_refused(path: str) -> None:
    reactor = workload("reactor")
    pod = reactor["spec"]["template"]["spec"]
    container = pod["containers"][0]
    stolen = names.bus_secret("executor")  # the ledger's and results' only writer
    if path == "env":
        container["env"].append(
            {"name": "X", "valueFrom": {"secretKeyRef": {"name": stolen, "key": "password"}}}
        )
    elif path == "envFrom":
        container.setdefault("envFrom", []).append({"secretRef": {"name": stolen}})
    elif path == "volume":
        pod.setdefault("volumes", []).append({"name": "x", "secret": {"secretName": stolen}})
    elif path == "projected":
        pod.setdefault("volumes", []).append(
            {"name": "x", "projected": {"sources": [{"secret": {"name": stolen}}]}}
        )
    else:
        pod.setdefault("initContainers", []).append(
            {"name": "x", "image": "busybox", "envFrom": [{"secretRef": {"name": stolen}}]}
        )
    assert as_deployer(reactor) == [BUS_DENIAL]


def test_relabelling_a_pod_is_not_a_way_to_a_bus_login_it_has_no_label_for() -> None:
    monitor = workload("monitor")
    del monitor["spec"]["template"]["metadata"]["labels"][deployer.APP_LABEL]
    assert as_deployer(monitor) == [BUS_DENIAL]  # unlabelled: no bus login at all


def test_the_operator_and_the_platform_are_not_subject_to_the_guard() -> None:
    reactor = workload("reactor")
    reactor["spec"]["template"]["spec"]["containers"][0]["envFrom"] = [
        {"secretRef": {"name": names.bus_secret("executor")}}
    ]
    assert denials(POLICY, Request("CREATE", "system:admin", reactor)) == []
    assert as_deployer(reactor) == [BUS_DENIAL]
