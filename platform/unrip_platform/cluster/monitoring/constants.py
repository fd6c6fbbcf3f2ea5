"""Names, ports and users the monitoring stack's pieces share: one place, so a port the
scrape config names is the port the Service and NetworkPolicy open."""

from __future__ import annotations

from typing import Final

from unrip_platform import names

NS: Final = names.NAMESPACE_PLATFORM
COMPONENT: Final = "monitoring"
PROMETHEUS: Final = "prometheus"
ALERTMANAGER: Final = "alertmanager"
GRAFANA: Final = "grafana"
NODE_EXPORTER: Final = "node-exporter"
KUBE_STATE_METRICS: Final = "kube-state-metrics"
PROMETHEUS_PORT: Final = 9090
ALERTMANAGER_PORT: Final = 9093
GRAFANA_PORT: Final = 3000
NODE_EXPORTER_PORT: Final = 9100
KSM_PORT: Final = 8080
KSM_TELEMETRY_PORT: Final = 8081
APP_METRICS_PORT: Final = 8080
# The apps' NetworkPolicies admit scrapes from pods with this label (manifests/base/common).
SCRAPER_LABEL: Final = "unrip.io/metrics-scraper"
# The apps Prometheus scrapes (namespace apps, label app.kubernetes.io/name).
APPS: Final = (
    "ingest",
    "ingest-prices",
    "reactor",
    "executor",
    "monitor",
    "paper-venue",
    "archiver",
)
NOBODY: Final = 65534  # the Prometheus images' and kube-state-metrics' user
GRAFANA_UID: Final = 472  # the Grafana image's user
# Prometheus keeps at most this share of its claim (size-based retention): the WAL and
# compaction need headroom, and local-path does not enforce the claim's size.
RETENTION_SHARE: Final = 0.8
DATA_CLAIM: Final = "prometheus-data"
ALERT_RECEIVER_SECRET: Final = "alertmanager-receiver"  # noqa: S105 (a name)
ALERT_RECEIVER_KEY: Final = "webhook-url"
GRAFANA_SECRET: Final = "grafana-admin"  # noqa: S105 (a name)
DATASOURCE_UID: Final = "prometheus"  # the dashboards' datasource (tests check they agree)
TOKEN_DIR: Final = "/var/run/secrets/kubernetes.io/serviceaccount"  # noqa: S105 (a path)
