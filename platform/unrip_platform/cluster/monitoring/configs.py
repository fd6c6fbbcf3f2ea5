"""What the stack's programs read: Prometheus's scrape configuration, Alertmanager's routing and
Grafana's provisioning, as data (tests parse them; promtool checks the rules beside them)."""

from __future__ import annotations

from typing import Any, Final

import yaml

from unrip_platform import names
from unrip_platform.cluster.monitoring.constants import (
    ALERT_RECEIVER_KEY,
    ALERTMANAGER,
    ALERTMANAGER_PORT,
    APP_METRICS_PORT,
    APPS,
    DATASOURCE_UID,
    KSM_PORT,
    KUBE_STATE_METRICS,
    NODE_EXPORTER,
    NODE_EXPORTER_PORT,
    NS,
    PROMETHEUS,
    PROMETHEUS_PORT,
    RETENTION_SHARE,
)
from unrip_platform.cluster.namespaces import (
    REDPANDA_ADMIN_PORT,
    REDPANDA_APP,
)
from unrip_platform.cluster.settings import MonitoringSettings


def in_cluster(service: str, port: int) -> str:
    return f"{service}.{NS}.svc.cluster.local:{port}"


def retention_size(settings: MonitoringSettings) -> str:
    return f"{int(settings.storage_gib * 1024 * RETENTION_SHARE)}MB"


def _keep_pods(*apps: str) -> dict[str, Any]:
    return {
        "source_labels": ["__meta_kubernetes_pod_label_app_kubernetes_io_name"],
        "regex": "|".join(apps),
        "action": "keep",
    }


def _keep_port(port: int) -> dict[str, Any]:
    return {
        "source_labels": ["__meta_kubernetes_pod_container_port_number"],
        "regex": str(port),
        "action": "keep",
    }


_POD_LABELS: Final = [
    {"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"},
    {"source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod"},
    {
        "source_labels": ["__meta_kubernetes_pod_label_app_kubernetes_io_name"],
        "target_label": "app",
    },
]


def _pods_job(job: str, namespace: str, apps: tuple[str, ...], port: int, path: str) -> Any:
    return {
        "job_name": job,
        "metrics_path": path,
        "kubernetes_sd_configs": [{"role": "pod", "namespaces": {"names": [namespace]}}],
        "relabel_configs": [_keep_pods(*apps), _keep_port(port), *_POD_LABELS],
    }


def prometheus_config(settings: MonitoringSettings) -> dict[str, Any]:
    """prometheus.yml: every app pod, Redpanda, Forgejo, the node and the cluster's objects."""
    return {
        "global": {
            "scrape_interval": settings.scrape_interval,
            "evaluation_interval": settings.scrape_interval,
            "external_labels": {"cluster": "unrip"},
        },
        "rule_files": ["/etc/prometheus/rules/*.yaml"],
        "alerting": {
            "alertmanagers": [
                {"static_configs": [{"targets": [in_cluster(ALERTMANAGER, ALERTMANAGER_PORT)]}]}
            ]
        },
        "scrape_configs": [
            {
                "job_name": "prometheus",
                "static_configs": [{"targets": [f"localhost:{PROMETHEUS_PORT}"]}],
            },
            _pods_job("apps", names.NAMESPACE_APPS, APPS, APP_METRICS_PORT, "/metrics"),
            # Public metrics include consumer-group lag (enable_consumer_group_metrics).
            _pods_job("redpanda", NS, (REDPANDA_APP,), REDPANDA_ADMIN_PORT, "/public_metrics"),
            {
                "job_name": "forgejo",
                "static_configs": [
                    {"targets": [in_cluster(names.FORGEJO_SERVICE, names.FORGEJO_HTTP_PORT)]}
                ],
            },
            _pods_job("node", NS, (NODE_EXPORTER,), NODE_EXPORTER_PORT, "/metrics"),
            {
                "job_name": "kube-state-metrics",
                "static_configs": [{"targets": [in_cluster(KUBE_STATE_METRICS, KSM_PORT)]}],
            },
        ],
    }


def alertmanager_config() -> dict[str, Any]:
    """One receiver (a webhook URL read from a file), grouped per alert and namespace."""
    receiver_file = f"/etc/alertmanager/receiver/{ALERT_RECEIVER_KEY}"
    return {
        "route": {
            "receiver": "operator",
            "group_by": ["alertname", "namespace"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
        },
        "receivers": [
            {
                "name": "operator",
                "webhook_configs": [{"url_file": receiver_file, "send_resolved": True}],
            }
        ],
        "inhibit_rules": [
            {
                # The forced kill switch explains the kill switch: page once.
                "source_matchers": ['alertname="KillSwitchForcedByStaleness"'],
                "target_matchers": ['alertname="KillSwitchOn"'],
                "equal": ["namespace", "pod"],
            },
            {
                "source_matchers": ['alertname="RedpandaUnavailable"'],
                "target_matchers": [
                    'alertname=~"ConsumerLagGrowing|NoResultsWhileCommandsFlow|RedpandaUnderReplicated"'
                ],
            },
        ],
    }


def grafana_provisioning() -> dict[str, str]:
    datasources = {
        "apiVersion": 1,
        "datasources": [
            {
                "name": "Prometheus",
                "uid": DATASOURCE_UID,
                "type": "prometheus",
                "access": "proxy",
                "url": f"http://{in_cluster(PROMETHEUS, PROMETHEUS_PORT)}",
                "isDefault": True,
                "editable": False,
            }
        ],
    }
    dashboards = {
        "apiVersion": 1,
        "providers": [
            {
                "name": "unrip",
                "folder": "unrip",
                "type": "file",
                "disableDeletion": True,
                "allowUiUpdates": False,
                "options": {"path": "/var/lib/grafana-dashboards"},
            }
        ],
    }
    return {
        "datasources.yaml": yaml.safe_dump(datasources, sort_keys=False),
        "dashboards.yaml": yaml.safe_dump(dashboards, sort_keys=False),
    }
