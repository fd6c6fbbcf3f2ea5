"""The monitoring stack's manifests: what Prometheus scrapes, who may reach what, and that the
rules and dashboards it ships are exactly the files tested next door."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from unrip_platform import names
from unrip_platform.cluster.monitoring import (
    alerting_rules,
    configs,
    constants,
    dashboard_files,
    rule_files,
    stack,
)
from unrip_platform.cluster.redpanda import bootstrap_config
from unrip_platform.cluster.render import render_manifests
from unrip_platform.cluster.settings import ClusterSettings, RedpandaSettings
from unrip_platform.validation import validate_manifests

pytestmark = pytest.mark.platform

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def manifests() -> list[dict[str, Any]]:
    return stack.monitoring_manifests(ClusterSettings(), "placeholder")


def by(manifests: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    [found] = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name]
    return found


def test_the_stack_is_rendered_with_the_platform_and_validates(
    manifests: list[dict[str, Any]],
) -> None:
    rendered = render_manifests(ClusterSettings())
    keys = {(m["kind"], m["metadata"]["name"]) for m in rendered}
    assert {(m["kind"], m["metadata"]["name"]) for m in manifests} <= keys
    assert not validate_manifests(manifests)


def test_prometheus_scrapes_apps_redpanda_forgejo_and_the_node() -> None:
    config = configs.prometheus_config(ClusterSettings().monitoring)
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {
        "prometheus",
        "apps",
        "redpanda",
        "forgejo",
        "node",
        "kube-state-metrics",
    }
    apps = jobs["apps"]
    assert apps["kubernetes_sd_configs"][0]["namespaces"]["names"] == [names.NAMESPACE_APPS]
    keep = {r["regex"] for r in apps["relabel_configs"] if r.get("action") == "keep"}
    assert keep == {"ingest|ingest-prices|reactor|executor|monitor|paper-venue|archiver", "8080"}
    assert jobs["redpanda"]["metrics_path"] == "/public_metrics"
    # No kubelet scrape: pods never reach a node's 10250 (docs/security.md).
    assert not any("kubelet" in name for name in jobs)
    assert config["rule_files"] == ["/etc/prometheus/rules/*.yaml"]


def test_retention_fits_the_claim(manifests: list[dict[str, Any]]) -> None:
    settings = ClusterSettings().monitoring
    claim = by(manifests, "PersistentVolumeClaim", constants.DATA_CLAIM)
    assert claim["spec"]["storageClassName"] == "local-path"
    assert claim["spec"]["resources"]["requests"]["storage"] == f"{settings.storage_gib}Gi"
    [container] = by(manifests, "Deployment", "prometheus")["spec"]["template"]["spec"][
        "containers"
    ]
    [size] = [a for a in container["args"] if a.startswith("--storage.tsdb.retention.size=")]
    megabytes = int(size.split("=")[1].removesuffix("MB"))
    assert 0.5 * settings.storage_gib * 1024 < megabytes < settings.storage_gib * 1024


def test_the_config_maps_carry_the_tested_rules_and_dashboards(
    manifests: list[dict[str, Any]],
) -> None:
    assert by(manifests, "ConfigMap", "prometheus-rules")["data"] == rule_files()
    assert by(manifests, "ConfigMap", "grafana-dashboards")["data"] == dashboard_files()
    provisioning = by(manifests, "ConfigMap", "grafana-provisioning")["data"]
    [datasource] = yaml.safe_load(provisioning["datasources.yaml"])["datasources"]
    assert datasource["uid"] == constants.DATASOURCE_UID == "prometheus"  # as the dashboards say


def test_images_are_pinned_by_digest(manifests: list[dict[str, Any]]) -> None:
    images = [
        c["image"]
        for m in manifests
        if "template" in m.get("spec", {})
        for c in m["spec"]["template"]["spec"]["containers"]
    ]
    assert len(images) == 5
    assert all("@sha256:" in image and len(image.split("@sha256:")[1]) == 64 for image in images)


def test_the_scraper_label_matches_the_apps_policies(manifests: list[dict[str, Any]]) -> None:
    pod = by(manifests, "Deployment", "prometheus")["spec"]["template"]["metadata"]
    assert pod["labels"][constants.SCRAPER_LABEL] == "true"
    policy = yaml.safe_load((REPO / "manifests/base/common/network-policy.yaml").read_text())
    [rule] = policy["spec"]["ingress"]
    assert rule["from"][0]["podSelector"]["matchLabels"] == {constants.SCRAPER_LABEL: "true"}
    assert rule["ports"] == [{"protocol": "TCP", "port": constants.APP_METRICS_PORT}]


def test_metrics_ports_admit_prometheus_only(manifests: list[dict[str, Any]]) -> None:
    policies = {m["metadata"]["name"]: m["spec"] for m in manifests if m["kind"] == "NetworkPolicy"}
    for name in ("node-exporter", "kube-state-metrics", "redpanda-metrics", "alertmanager"):
        for rule in policies[name].get("ingress", []):
            assert rule["from"] == [
                {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}
            ]
    assert "ingress" not in policies["grafana"]  # port-forward only
    egress_ports = {
        port["port"] for rule in policies["prometheus"]["egress"] for port in rule["ports"]
    }
    assert egress_ports == {8080, 9644, 3000, 9100, 9093, 443, 6443}


def test_alertmanager_reads_its_receiver_from_a_secret(manifests: list[dict[str, Any]]) -> None:
    config = yaml.safe_load(
        by(manifests, "ConfigMap", "alertmanager-config")["data"]["alertmanager.yml"]
    )
    [receiver] = config["receivers"]
    [webhook] = receiver["webhook_configs"]
    assert webhook["url_file"].endswith(constants.ALERT_RECEIVER_KEY) and "url" not in webhook
    volumes = by(manifests, "Deployment", "alertmanager")["spec"]["template"]["spec"]["volumes"]
    [secret] = [v["secret"] for v in volumes if "secret" in v]
    assert secret["secretName"] == constants.ALERT_RECEIVER_SECRET
    template = yaml.safe_load((REPO / "secrets-templates/alerting.yaml").read_text())
    assert template["webhook_url"]  # the template names the value the Secret carries
    alerts = {rule["alert"] for rule in alerting_rules()}
    for inhibit in config["inhibit_rules"]:
        for matcher in inhibit["source_matchers"] + inhibit["target_matchers"]:
            named = matcher.split("=", 1)[1].strip('~"').split("|")
            assert set(named) <= alerts, matcher


def test_redpanda_exports_consumer_group_lag() -> None:
    assert "consumer_lag" in bootstrap_config(RedpandaSettings())["enable_consumer_group_metrics"]
