"""Prometheus (its TSDB on the data volume, size-bounded), Alertmanager (its receiver from a
Secret) and Grafana (stateless, provisioned from ConfigMaps)."""

from __future__ import annotations

from typing import Any

import yaml

from unrip_platform.cluster.common import (
    Manifest,
    config_map,
    content_hash,
    empty_dir,
    labels,
    metadata,
    mount,
    secret,
    service_account,
)
from unrip_platform.cluster.monitoring import dashboard_files, rule_files
from unrip_platform.cluster.monitoring.configs import (
    alertmanager_config,
    grafana_provisioning,
    prometheus_config,
    retention_size,
)
from unrip_platform.cluster.monitoring.constants import (
    ALERT_RECEIVER_SECRET,
    ALERTMANAGER,
    ALERTMANAGER_PORT,
    COMPONENT,
    DATA_CLAIM,
    GRAFANA,
    GRAFANA_PORT,
    GRAFANA_SECRET,
    GRAFANA_UID,
    NOBODY,
    NS,
    PROMETHEUS,
    PROMETHEUS_PORT,
    SCRAPER_LABEL,
    TOKEN_DIR,
)
from unrip_platform.cluster.monitoring.pods import (
    api_token_volume,
    hardened_container,
    service,
    workload,
)
from unrip_platform.cluster.settings import ClusterSettings


def prometheus_manifests(settings: ClusterSettings) -> list[Manifest]:
    mon = settings.monitoring
    config = yaml.safe_dump(prometheus_config(mon), sort_keys=False)
    rules = rule_files()
    args = [
        "--config.file=/etc/prometheus/prometheus.yml",
        "--storage.tsdb.path=/prometheus",
        f"--storage.tsdb.retention.time={mon.retention_days}d",
        f"--storage.tsdb.retention.size={retention_size(mon)}",
        f"--web.listen-address=:{PROMETHEUS_PORT}",
        "--web.page-title=unrip Prometheus",
    ]
    container = hardened_container(
        PROMETHEUS,
        settings.images.prometheus,
        args,
        PROMETHEUS_PORT,
        mon.prometheus_resources,
        live="/-/healthy",
        ready="/-/ready",
        mounts=[
            mount("data", "/prometheus"),
            mount("config", "/etc/prometheus/prometheus.yml", sub_path="prometheus.yml"),
            mount("rules", "/etc/prometheus/rules", read_only=True),
            mount("kube-api-access", TOKEN_DIR, read_only=True),
        ],
    )
    cluster_role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "unrip-prometheus", "labels": labels(PROMETHEUS, COMPONENT)},
        "rules": [
            # Discovery of nodes and pods; the kubelet's metrics endpoints and nothing else
            # (not nodes/proxy, which would reach every kubelet API).
            {"apiGroups": [""], "resources": ["nodes", "pods"], "verbs": ["get", "list", "watch"]},
            {"apiGroups": [""], "resources": ["nodes/metrics"], "verbs": ["get"]},
        ],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "unrip-prometheus", "labels": labels(PROMETHEUS, COMPONENT)},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "unrip-prometheus",
        },
        "subjects": [{"kind": "ServiceAccount", "name": PROMETHEUS, "namespace": NS}],
    }
    return [
        service_account(PROMETHEUS, NS, COMPONENT),
        cluster_role,
        binding,
        config_map("prometheus-config", NS, COMPONENT, {"prometheus.yml": config}),
        config_map("prometheus-rules", NS, COMPONENT, rules),
        {
            "apiVersion": "v1",
            "kind": "PersistentVolumeClaim",
            "metadata": metadata(DATA_CLAIM, NS, COMPONENT, label_name=PROMETHEUS),
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": settings.storage_class,
                "resources": {"requests": {"storage": f"{mon.storage_gib}Gi"}},
            },
        },
        service(PROMETHEUS, PROMETHEUS_PORT),
        workload(
            "Deployment",
            PROMETHEUS,
            NOBODY,
            [container],
            [
                {"name": "data", "persistentVolumeClaim": {"claimName": DATA_CLAIM}},
                {"name": "config", "configMap": {"name": "prometheus-config"}},
                {"name": "rules", "configMap": {"name": "prometheus-rules"}},
                api_token_volume(),
            ],
            config_hash=content_hash(config, *rules.values()),
            extra_labels={SCRAPER_LABEL: "true"},
        ),
    ]


def alertmanager_manifests(settings: ClusterSettings) -> list[Manifest]:
    config = yaml.safe_dump(alertmanager_config(), sort_keys=False)
    args = [
        "--config.file=/etc/alertmanager/alertmanager.yml",
        "--storage.path=/alertmanager",
        f"--web.listen-address=:{ALERTMANAGER_PORT}",
        "--cluster.listen-address=",  # one replica: no gossip port
    ]
    container = hardened_container(
        ALERTMANAGER,
        settings.images.alertmanager,
        args,
        ALERTMANAGER_PORT,
        settings.monitoring.small_resources,
        live="/-/healthy",
        ready="/-/ready",
        mounts=[
            mount("data", "/alertmanager"),
            mount("config", "/etc/alertmanager/alertmanager.yml", sub_path="alertmanager.yml"),
            mount("receiver", "/etc/alertmanager/receiver", read_only=True),
        ],
    )
    return [
        service_account(ALERTMANAGER, NS, COMPONENT),
        config_map("alertmanager-config", NS, COMPONENT, {"alertmanager.yml": config}),
        service(ALERTMANAGER, ALERTMANAGER_PORT),
        workload(
            "Deployment",
            ALERTMANAGER,
            NOBODY,
            [container],
            [
                # Silences and notification state; lost on a restart, which only re-notifies.
                empty_dir("data", "64Mi"),
                {"name": "config", "configMap": {"name": "alertmanager-config"}},
                {
                    # Written by the bootstrap from secrets-templates/alerting.yaml; optional so
                    # Alertmanager runs (and shows alerts) before the operator configured one.
                    "name": "receiver",
                    "secret": {
                        "secretName": ALERT_RECEIVER_SECRET,
                        "optional": True,
                        "defaultMode": 0o440,
                    },
                },
            ],
            config_hash=content_hash(config),
        ),
    ]


def grafana_manifests(settings: ClusterSettings, admin_password: Any) -> list[Manifest]:
    provisioning = grafana_provisioning()
    dashboards = dashboard_files()
    env = {
        "GF_PATHS_DATA": "/var/lib/grafana",
        "GF_PATHS_LOGS": "/var/log/grafana",
        "GF_PATHS_PLUGINS": "/var/lib/grafana/plugins",
        "GF_PATHS_PROVISIONING": "/etc/grafana/provisioning",
        "GF_SERVER_HTTP_PORT": str(GRAFANA_PORT),
        "GF_SECURITY_ADMIN_USER": "admin",
        "GF_SECURITY_ADMIN_PASSWORD__FILE": "/etc/grafana/secrets/admin-password",
        "GF_SECURITY_DISABLE_GRAVATAR": "true",
        "GF_USERS_ALLOW_SIGN_UP": "false",
        "GF_AUTH_ANONYMOUS_ENABLED": "false",
        "GF_ANALYTICS_REPORTING_ENABLED": "false",
        "GF_ANALYTICS_CHECK_FOR_UPDATES": "false",
        "GF_ANALYTICS_CHECK_FOR_PLUGIN_UPDATES": "false",
        "GF_NEWS_NEWS_FEED_ENABLED": "false",
        "GF_PLUGINS_PREINSTALL_DISABLED": "true",
    }
    container = hardened_container(
        GRAFANA,
        settings.images.grafana,
        [],
        GRAFANA_PORT,
        settings.monitoring.grafana_resources,
        live="/api/health",
        ready="/api/health",
        mounts=[
            mount("data", "/var/lib/grafana"),
            mount("logs", "/var/log/grafana"),
            mount("tmp", "/tmp"),  # noqa: S108
            mount(
                "provisioning",
                "/etc/grafana/provisioning/datasources/datasources.yaml",
                sub_path="datasources.yaml",
                read_only=True,
            ),
            mount(
                "provisioning",
                "/etc/grafana/provisioning/dashboards/dashboards.yaml",
                sub_path="dashboards.yaml",
                read_only=True,
            ),
            mount("dashboards", "/var/lib/grafana-dashboards", read_only=True),
            mount("secrets", "/etc/grafana/secrets", read_only=True),
        ],
    )
    del container["args"]
    container["env"] = [{"name": key, "value": value} for key, value in env.items()]
    return [
        service_account(GRAFANA, NS, COMPONENT),
        secret(GRAFANA_SECRET, NS, COMPONENT, {"admin-password": admin_password}),
        config_map("grafana-provisioning", NS, COMPONENT, provisioning),
        config_map("grafana-dashboards", NS, COMPONENT, dashboards),
        service(GRAFANA, GRAFANA_PORT),
        workload(
            "Deployment",
            GRAFANA,
            GRAFANA_UID,
            [container],
            [
                # Stateless: everything it shows is provisioned; users and sessions are not kept.
                empty_dir("data", "256Mi"),
                empty_dir("logs", "64Mi"),
                empty_dir("tmp", "64Mi"),
                {"name": "provisioning", "configMap": {"name": "grafana-provisioning"}},
                {"name": "dashboards", "configMap": {"name": "grafana-dashboards"}},
                {"name": "secrets", "secret": {"secretName": GRAFANA_SECRET, "defaultMode": 0o440}},
            ],
            config_hash=content_hash(*provisioning.values(), *dashboards.values()),
        ),
    ]
