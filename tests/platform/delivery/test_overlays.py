"""The rendered overlays: what a deploy applies, checked for the properties that matter."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic_settings import BaseSettings
from unrip.archiver.settings import ArchiverSettings
from unrip.cli import SERVICES
from unrip.executor.settings import ExecutorSettings
from unrip.ingest.settings import IngestSettings
from unrip.monitor.service import MonitorSettings
from unrip.reactor.service import ReactorSettings
from unrip.reactor.strategy import parse_strategy
from unrip.runtime.settings import ServiceSettings
from unrip.topics import EXECUTION_PARTITIONS
from unrip.venues import registry
from unrip.venues.paper.server import PaperVenueSettings
from unrip_platform import names
from unrip_platform.cluster import bus_acls
from unrip_platform.delivery import checks

from tests.platform.delivery.conftest import Manifest, by_name, containers, env, pod_spec, workloads

pytestmark = pytest.mark.platform

APPS = names.NAMESPACE_APPS
SETTINGS: dict[str, type[ServiceSettings]] = {
    "ingest": IngestSettings,
    "reactor": ReactorSettings,
    "executor": ExecutorSettings,
    "monitor": MonitorSettings,
    "paper-venue": PaperVenueSettings,
    "archiver": ArchiverSettings,
}
KAFKA_CLIENTS = {"ingest", "ingest-prices", "reactor", "executor", "monitor", "archiver"}
# Workloads that run a service under another name: the price ingest is the ingest service.
RUNS_AS = {"ingest-prices": "ingest"}
SECRETISH = ("JWT", "TOKEN", "PASSWORD", "SECRET", "SIGNING_KEY", "PRIVATE")
# In production each Kafka client's own bus password (components/bus-auth).
BUS_PASSWORDS = {
    (names.bus_secret(s), names.BUS_SECRET_PASSWORD_KEY) for s in bus_acls.APP_SERVICES
}


def digest(char: str) -> str:
    return f"{names.IMAGE_REPOSITORY}@sha256:{char * 64}"


def app_workloads(manifests: list[Manifest]) -> list[Manifest]:
    return list(workloads(manifests, APPS))


def service_of(workload: Manifest) -> str:
    return str(workload["metadata"]["name"])


def test_the_overlays_are_the_shared_ones() -> None:
    assert checks.overlay_names() == sorted(
        [names.OVERLAY_PRODUCTION, names.OVERLAY_PRODUCTION_LIVE, names.OVERLAY_LOCAL]
    )


def test_every_overlay_validates_strictly_for_the_clusters_kubernetes(
    rendered: dict[str, list[Manifest]],
) -> None:
    for overlay, manifests in rendered.items():
        assert checks.schema_problems(manifests) == [], overlay


def test_every_service_runs_once_per_overlay_from_the_one_image(
    rendered: dict[str, list[Manifest]],
) -> None:
    for overlay, manifests in rendered.items():
        services = {service_of(w): w for w in app_workloads(manifests)}
        assert set(services) == set(SERVICES) | set(RUNS_AS), overlay
        for name, workload in services.items():
            (main,) = containers(workload, init=False)
            assert main["args"] == [RUNS_AS.get(name, name)]  # the command picks the service
            assert main["image"] == checks.PLACEHOLDER_IMAGE
            assert all(c["image"] == checks.PLACEHOLDER_IMAGE for c in containers(workload))


def test_every_container_has_limits_probes_and_the_restricted_security_context(
    rendered: dict[str, list[Manifest]],
) -> None:
    for overlay, manifests in rendered.items():
        for workload in workloads(manifests):
            where = f"{overlay}: {workload['kind']} {service_of(workload)}"
            pod = pod_spec(workload)["securityContext"]
            assert pod["runAsNonRoot"] is True, where
            assert pod["seccompProfile"] == {"type": "RuntimeDefault"}, where
            if workload["metadata"]["namespace"] == APPS:
                assert pod["runAsUser"] == pod["runAsGroup"] == names.APPS_UID, where
                assert pod_spec(workload)["automountServiceAccountToken"] is False, where
            for container in containers(workload):
                context = container["securityContext"]
                assert context["allowPrivilegeEscalation"] is False, where
                assert context["readOnlyRootFilesystem"] is True, where
                assert context["privileged"] is False, where
                assert context["capabilities"] == {"drop": ["ALL"]}, where
                assert context["seccompProfile"] == {"type": "RuntimeDefault"}, where
                for bound in ("requests", "limits"):
                    assert set(container["resources"][bound]) == {"cpu", "memory"}, where
            for container in containers(workload, init=False):
                assert "readinessProbe" in container and "livenessProbe" in container, where
                if workload["metadata"]["namespace"] == APPS:
                    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", where
                    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", where
                    assert container["startupProbe"]["httpGet"]["path"] == "/healthz", where


def test_no_secret_value_in_any_manifest(rendered: dict[str, list[Manifest]]) -> None:
    for overlay, manifests in rendered.items():
        assert not [m for m in manifests if m["kind"] == "Secret"], overlay
        refs = set()
        for workload in workloads(manifests):
            for container in containers(workload):
                for name, value in env(container).items():
                    if any(word in name for word in SECRETISH):
                        assert isinstance(value, dict) and "secretKeyRef" in value, (overlay, name)
                        ref = value["secretKeyRef"]
                        refs.add((ref["name"], ref["key"]))
        for config_map in (m for m in manifests if m["kind"] == "ConfigMap"):
            for key in config_map.get("data", {}):
                assert not any(word in key.upper() for word in SECRETISH), (overlay, key)
        # In every overlay: the command MAC key, and the archive's object storage (optional
        # keys: absent, it archives to its volume); the relay JWT in production, and the
        # solver's key too in live mode.
        jwt = {(names.APPS_SECRET_NEAR_INTENTS, names.APPS_SECRET_NEAR_INTENTS_JWT_KEY)}
        solver = {(names.APPS_SECRET_NEAR_INTENTS, names.APPS_SECRET_NEAR_INTENTS_SIGNING_KEY_KEY)}
        expected = {
            (names.APPS_SECRET_COMMAND_SIGNING, names.APPS_SECRET_COMMAND_SIGNING_KEY),
            ("archive-storage", "secret_key"),
        } | {
            names.OVERLAY_PRODUCTION: jwt | BUS_PASSWORDS,
            names.OVERLAY_PRODUCTION_LIVE: jwt | solver | BUS_PASSWORDS,
        }.get(overlay, set())
        assert refs == expected, overlay


def test_the_image_is_overridable_per_deploy() -> None:
    for char in "ab":
        manifests = checks.render_overlay(names.OVERLAY_PRODUCTION, digest(char))
        images = {c["image"] for w in workloads(manifests) for c in containers(w)}
        assert images == {digest(char)}
    local = checks.render_overlay(names.OVERLAY_LOCAL, "unrip:feature-x")
    images = {c["image"] for w in app_workloads(local) for c in containers(w)}
    assert images == {"unrip:feature-x"}


def test_every_grace_period_exceeds_the_services_shutdown_budget(
    rendered: dict[str, list[Manifest]],
) -> None:
    for overlay, manifests in rendered.items():
        for workload in app_workloads(manifests):
            (main,) = containers(workload, init=False)
            budget = float(
                env(main).get("UNRIP_SHUTDOWN_GRACE_S")
                or ServiceSettings.model_fields["shutdown_grace_s"].default
            )
            grace = pod_spec(workload)["terminationGracePeriodSeconds"]
            assert grace > budget, (overlay, service_of(workload), grace, budget)
    executor = by_name(rendered[names.OVERLAY_PRODUCTION], "Deployment", "executor")
    (main,) = containers(executor, init=False)
    # The executor's budget: finish the batch, record, publish, commit; then the kubelet waits.
    assert (
        pod_spec(executor)["terminationGracePeriodSeconds"]
        >= float(env(main)["UNRIP_SHUTDOWN_GRACE_S"]) + 10
    )


def test_an_executor_keeps_serving_through_a_deploy(rendered: dict[str, list[Manifest]]) -> None:
    for overlay, manifests in rendered.items():
        executor = by_name(manifests, "Deployment", "executor")
        spec = executor["spec"]
        rolling = spec["strategy"]["rollingUpdate"]
        assert spec["strategy"]["type"] == "RollingUpdate", overlay
        assert rolling["maxUnavailable"] == 0 and rolling["maxSurge"] >= 1, overlay
        assert spec["replicas"] >= 2 and spec["minReadySeconds"] > 0, overlay
        # Readiness means "joined the group and got partitions": every member must be able to
        # own one during the surge, or the new pod never becomes ready.
        assert spec["replicas"] + rolling["maxSurge"] <= EXECUTION_PARTITIONS, overlay
        budget = by_name(manifests, "PodDisruptionBudget", "executor")["spec"]
        assert budget["minAvailable"] >= 1, overlay
        assert budget["selector"] == spec["selector"], overlay


def test_the_reactor_and_the_paper_venue_never_run_twice(
    rendered: dict[str, list[Manifest]],
) -> None:
    for overlay, manifests in rendered.items():
        reactor = by_name(manifests, "Deployment", "reactor")["spec"]
        assert reactor["replicas"] == 1 and reactor["strategy"] == {"type": "Recreate"}, overlay
        venue = by_name(manifests, "StatefulSet", "paper-venue")["spec"]
        assert venue["replicas"] == 1, overlay
        claims = [t["metadata"]["name"] for t in venue["volumeClaimTemplates"]]
        mounts = {
            m["name"]: m["mountPath"]
            for m in venue["template"]["spec"]["containers"][0]["volumeMounts"]
        }
        db_path = env(venue["template"]["spec"]["containers"][0])["UNRIP_PAPER_DB_PATH"]
        assert claims == ["data"] and db_path.startswith(mounts["data"] + "/"), overlay


# The setting that names a service's venue; the venue's own settings are read there too.
VENUE_SETTING = {"ingest": "ingest_venue", "executor": "executor_venue"}


def env_names(settings: type[BaseSettings]) -> set[str]:
    prefix = str(settings.model_config.get("env_prefix", ""))
    return {f"{prefix}{field}".upper() for field in settings.model_fields}


def known_env(service: str, values: dict[str, str]) -> set[str]:
    """Every variable the service reads: its own settings and its venue plug-in's settings."""
    settings = SETTINGS[service]
    known = env_names(settings)
    field = VENUE_SETTING.get(service)
    if field is not None:
        venue = values.get(f"UNRIP_{field.upper()}", settings.model_fields[field].default)
        for venue_settings in registry.load(venue).settings:
            known |= env_names(venue_settings)
    return known


@pytest.mark.parametrize("service", SERVICES)
def test_env_names_are_settings_the_services_read(
    rendered: dict[str, list[Manifest]], service: str
) -> None:
    """The settings ignore unknown variables, so a misspelt name would be silently dropped."""
    for overlay, manifests in rendered.items():
        for workload in app_workloads(manifests):
            (main,) = containers(workload, init=False)
            if main["args"][0] != service:
                continue
            values = {k: v for k, v in env(main).items() if isinstance(v, str)}
            for source in main.get("envFrom", []):
                values |= by_name(manifests, "ConfigMap", source["configMapRef"]["name"])["data"]
            names_used = set(env(main)) | set(values)
            unknown = names_used - known_env(service, values)
            assert not unknown, (overlay, service_of(workload), unknown)


def test_a_misspelt_venue_variable_is_caught() -> None:
    values = {"UNRIP_INGEST_VENUE": "near_intents"}
    known = known_env("ingest", values)
    assert "UNRIP_NEAR_INTENTS_JWT" in known and "UNRIP_INGEST_FEED_PATH" in known
    assert "UNRIP_NEAR_INTENTS_JTW" not in known
    assert "UNRIP_PAPER_VENUE_URL" not in known  # another venue's settings are not the ingest's


def test_the_services_use_the_clusters_kafka(rendered: dict[str, list[Manifest]]) -> None:
    production = rendered[names.OVERLAY_PRODUCTION]
    (main,) = containers(by_name(production, "Deployment", "executor"), init=False)
    # A generated ConfigMap: its name carries a content hash, so a change rolls the pods.
    common_name = main["envFrom"][0]["configMapRef"]["name"]
    assert common_name.startswith("unrip-env-")
    common = by_name(production, "ConfigMap", common_name)
    assert common["data"]["UNRIP_KAFKA_BOOTSTRAP_SERVERS"] == names.KAFKA_BOOTSTRAP_IN_CLUSTER
    local = rendered[names.OVERLAY_LOCAL]
    broker = by_name(local, "Service", names.REDPANDA_SERVICE)
    assert broker["metadata"]["namespace"] == names.NAMESPACE_PLATFORM
    assert broker["spec"]["ports"][0]["port"] == names.REDPANDA_KAFKA_PORT


def test_the_ingest_reads_the_relay_in_production_and_a_recording_locally(
    rendered: dict[str, list[Manifest]],
) -> None:
    production = env(
        containers(by_name(rendered[names.OVERLAY_PRODUCTION], "Deployment", "ingest"), init=False)[
            0
        ]
    )
    assert production["UNRIP_INGEST_SOURCE"] == "live"
    assert production["UNRIP_INGEST_VENUE"] == "near_intents"
    local = env(
        containers(by_name(rendered[names.OVERLAY_LOCAL], "Deployment", "ingest"), init=False)[0]
    )
    assert local["UNRIP_INGEST_SOURCE"] == "file" and "UNRIP_NEAR_INTENTS_JWT" not in local


def test_the_price_ingest_polls_1click_in_production_and_replays_a_path_locally(
    rendered: dict[str, list[Manifest]],
) -> None:
    for overlay, source in ((names.OVERLAY_PRODUCTION, "live"), (names.OVERLAY_LOCAL, "file")):
        workload = by_name(rendered[overlay], "Deployment", "ingest-prices")
        (main,) = containers(workload, init=False)
        values = env(main)
        assert values["UNRIP_INGEST_VENUE"] == "near_intents", overlay
        assert values["UNRIP_INGEST_STREAM"] == "prices", overlay
        assert values["UNRIP_INGEST_SOURCE"] == source, overlay
        # The endpoint is public: no Secret reaches this pod but its own bus login.
        assert not [
            v
            for v in values.values()
            if isinstance(v, dict)
            and "secretKeyRef" in v
            and v["secretKeyRef"]["name"] != names.bus_secret("ingest-prices")
        ]


def test_the_strategy_is_a_stable_configmap_only_the_reactor_may_read(
    rendered: dict[str, list[Manifest]],
) -> None:
    for overlay, manifests in rendered.items():
        config_map = by_name(manifests, "ConfigMap", names.REACTOR_STRATEGY_CONFIGMAP)
        strategy = parse_strategy(config_map["data"][names.REACTOR_STRATEGY_KEY], overlay)
        assert strategy.limits.max_notional_usd > 0
        role = by_name(manifests, "Role", "reactor-strategy-reader")
        assert role["rules"] == [
            {
                "apiGroups": [""],
                "resources": ["configmaps"],
                "resourceNames": [names.REACTOR_STRATEGY_CONFIGMAP],
                "verbs": ["get"],
            }
        ]
        binding = by_name(manifests, "RoleBinding", "reactor-strategy-reader")
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "reactor", "namespace": APPS}
        ]
        reactor = by_name(manifests, "Deployment", "reactor")
        (main,) = containers(reactor, init=False)
        assert env(main)["UNRIP_REACTOR_STRATEGY_CONFIGMAP"] == names.REACTOR_STRATEGY_CONFIGMAP
        assert env(main)["UNRIP_REACTOR_STRATEGY_CONFIGMAP_KEY"] == names.REACTOR_STRATEGY_KEY
        token_mounts = [
            m for m in main["volumeMounts"] if m["mountPath"].startswith("/var/run/secrets")
        ]
        assert pod_spec(reactor)["serviceAccountName"] == "reactor" and token_mounts, overlay
        readers = (
            {"reactor", "executor"} if overlay == names.OVERLAY_PRODUCTION_LIVE else {"reactor"}
        )
        others = [w for w in app_workloads(manifests) if service_of(w) not in readers]
        assert all(
            not any("projected" in v for v in pod_spec(w).get("volumes", [])) for w in others
        )


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        assert expression["operator"] == "In"
        if labels.get(expression["key"]) not in expression["values"]:
            return False
    return True


def _flows(manifests: list[Manifest], workload: Manifest) -> tuple[set[Any], set[Any]]:
    """(egress, ingress) of a pod: (port, peer kind) pairs over every policy selecting it."""
    labels = workload["spec"]["template"]["metadata"]["labels"]
    egress: set[Any] = set()
    ingress: set[Any] = set()
    for policy in (m for m in manifests if m["kind"] == "NetworkPolicy"):
        if not _selects(policy["spec"]["podSelector"], labels):
            continue
        for direction, rules, found in (
            ("to", policy["spec"].get("egress", []), egress),
            ("from", policy["spec"].get("ingress", []), ingress),
        ):
            for rule in rules:
                for port in rule.get("ports", []):
                    for peer in rule[direction]:
                        if "ipBlock" in peer:
                            kind = f"ip:{peer['ipBlock']['cidr']}"
                        else:
                            kind = str(
                                sorted(
                                    (peer.get("podSelector") or {}).get("matchLabels", {}).items()
                                )
                            )
                        found.add((port["port"], kind))
    return egress, ingress


def test_network_policies_allow_only_the_documented_flows(
    rendered: dict[str, list[Manifest]],
) -> None:
    dns = str([("k8s-app", "kube-dns")])
    kafka = str([("app.kubernetes.io/name", names.REDPANDA_SERVICE)])
    venue_pods = str([("app.kubernetes.io/name", "paper-venue")])
    scraper = str([("unrip.io/metrics-scraper", "true")])
    executor_pods = str([("app.kubernetes.io/name", "executor")])
    expected_egress = {
        "ingest": {(443, "ip:0.0.0.0/0")},
        "ingest-prices": {(443, "ip:0.0.0.0/0")},
        "reactor": {(443, "ip:10.43.0.1/32"), (6443, "ip:10.0.1.10/32")},
        "executor": {(8080, venue_pods)},
        "monitor": set(),
        "archiver": {(443, "ip:0.0.0.0/0")},
    }
    for workload in app_workloads(rendered[names.OVERLAY_PRODUCTION]):
        name = service_of(workload)
        egress, ingress = _flows(rendered[names.OVERLAY_PRODUCTION], workload)
        if name in KAFKA_CLIENTS:
            base = {(53, dns), (names.REDPANDA_KAFKA_PORT, kafka)}
            assert egress == base | expected_egress[name], name
            assert ingress == {(8080, scraper)}, name
        else:
            assert egress == set(), name
            assert ingress == {(8080, executor_pods), (8080, scraper)}, name
    ingests = [
        by_name(rendered[names.OVERLAY_PRODUCTION], "Deployment", name)
        for name in ("ingest", "ingest-prices")
    ]
    for ingest in ingests:
        labels = ingest["spec"]["template"]["metadata"]["labels"]
        assert labels[names.VENUE_EGRESS_LABEL] == "true"
    others = [w for w in app_workloads(rendered[names.OVERLAY_PRODUCTION]) if w not in ingests]
    assert all(
        names.VENUE_EGRESS_LABEL not in w["spec"]["template"]["metadata"]["labels"] for w in others
    )


def test_every_service_has_a_metrics_service(rendered: dict[str, list[Manifest]]) -> None:
    for overlay, manifests in rendered.items():
        for workload in app_workloads(manifests):
            service = by_name(manifests, "Service", service_of(workload))
            assert service["spec"]["selector"] == workload["spec"]["selector"]["matchLabels"]
            assert service["spec"]["ports"] == [
                {"name": "http", "port": 8080, "targetPort": "http", "protocol": "TCP"}
            ], overlay
            assert service["metadata"]["annotations"]["prometheus.io/path"] == "/metrics"


def test_the_live_overlay_signs_on_near_intents_and_paper_stays_the_default(
    rendered: dict[str, list[Manifest]],
) -> None:
    for overlay, manifests in rendered.items():
        (main,) = containers(by_name(manifests, "Deployment", "executor"), init=False)
        venue = env(main)["UNRIP_EXECUTOR_VENUE"]
        assert venue == ("near_intents" if overlay == names.OVERLAY_PRODUCTION_LIVE else "paper")
    live = rendered[names.OVERLAY_PRODUCTION_LIVE]
    executor = by_name(live, "Deployment", "executor")
    (main,) = containers(executor, init=False)
    variables = env(main)
    secret_keys = {
        name: value["secretKeyRef"]["key"]
        for name, value in variables.items()
        if isinstance(value, dict)
        and "secretKeyRef" in value
        and not name.startswith("UNRIP_KAFKA_SASL_")  # its bus login: tests/.../test_bus_login.py
    }
    assert secret_keys == {
        "UNRIP_NEAR_INTENTS_JWT": names.APPS_SECRET_NEAR_INTENTS_JWT_KEY,
        "UNRIP_NEAR_INTENTS_SOLVER_ACCOUNT_ID": names.APPS_SECRET_NEAR_INTENTS_SOLVER_ACCOUNT_KEY,
        "UNRIP_NEAR_INTENTS_SIGNING_KEY": names.APPS_SECRET_NEAR_INTENTS_SIGNING_KEY_KEY,
        # In every mode: only commands the reactor signed are executed.
        "UNRIP_COMMAND_SIGNING_KEY": names.APPS_SECRET_COMMAND_SIGNING_KEY,
    }
    assert "UNRIP_PAPER_VENUE_URL" not in variables
    assert variables["UNRIP_NEAR_INTENTS_RPC_URL"].startswith("https://")
    # The kill switch: the executor reads the reactor's strategy ConfigMap.
    assert variables["UNRIP_EXECUTOR_STRATEGY_CONFIGMAP"] == names.REACTOR_STRATEGY_CONFIGMAP
    binding = by_name(live, "RoleBinding", "executor-strategy-reader")
    assert binding["roleRef"]["name"] == "reactor-strategy-reader"
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "executor", "namespace": APPS}
    ]
    # Egress to the relay and the RPC endpoint: public 443 only (the cluster's venue rule too).
    labels = executor["spec"]["template"]["metadata"]["labels"]
    assert labels[names.VENUE_EGRESS_LABEL] == "true"
    egress, _ = _flows(live, executor)
    assert (443, "ip:0.0.0.0/0") in egress
    assert {port for port, _ in egress} <= {53, names.REDPANDA_KAFKA_PORT, 443, 6443, 8080}
    # Readiness follows the relay connection (/readyz names "venue" while it is down).
    assert main["readinessProbe"]["httpGet"]["path"] == "/readyz"


def test_the_ci_deployer_cannot_apply_the_live_overlay(
    rendered: dict[str, list[Manifest]],
) -> None:
    """The admission policy refuses deployer-made pods reading venue keys other than the JWT:
    the live overlay is the operator's to apply, and the policy stays as strict as it is."""
    from unrip_platform.cluster.deployer import READABLE_VENUE_KEYS

    executor = by_name(rendered[names.OVERLAY_PRODUCTION_LIVE], "Deployment", "executor")
    (main,) = containers(executor, init=False)
    read = {
        value["secretKeyRef"]["key"]
        for value in env(main).values()
        if isinstance(value, dict)
        and value.get("secretKeyRef", {}).get("name") == names.APPS_SECRET_NEAR_INTENTS
    }
    assert read - set(READABLE_VENUE_KEYS)  # refused for the deployer identity
    assert READABLE_VENUE_KEYS == (names.APPS_SECRET_NEAR_INTENTS_JWT_KEY,)


def test_every_object_of_the_live_overlay_lives_in_the_apps_namespace(
    rendered: dict[str, list[Manifest]],
) -> None:
    for manifest in rendered[names.OVERLAY_PRODUCTION_LIVE]:
        if manifest["kind"] != "Namespace":
            assert manifest["metadata"].get("namespace") == APPS, manifest["metadata"]["name"]
