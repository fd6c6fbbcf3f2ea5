"""The monitoring stack: Prometheus, Alertmanager, Grafana, node-exporter, kube-state-metrics.

Hand-written objects like Redpanda and Forgejo (docs/decisions.md says why), in the platform
namespace under its default-deny policy: Prometheus alone may open connections to the metrics
ports, and the scraped components admit it and nothing more. Prometheus keeps its TSDB on the
data volume (a local-path claim) with a size-based retention below the claim. Grafana is
stateless: its datasource and dashboards are provisioned from ConfigMaps, its admin password
from a Pulumi-generated secret. Alertmanager's receiver URL is read from a Secret the operator's
secrets-templates/alerting.yaml fills; without it alerts stay visible in Alertmanager only.

The pieces live beside this module (constants, configs, pods, workloads, exporters,
policies); this one assembles them.
"""

from __future__ import annotations

from typing import Any

from unrip_platform.cluster.common import (
    Manifest,
)
from unrip_platform.cluster.monitoring.exporters import (
    kube_state_metrics_manifests,
    node_exporter_manifests,
)
from unrip_platform.cluster.monitoring.policies import network_policies
from unrip_platform.cluster.monitoring.workloads import (
    alertmanager_manifests,
    grafana_manifests,
    prometheus_manifests,
)
from unrip_platform.cluster.settings import ClusterSettings


def monitoring_manifests(settings: ClusterSettings, grafana_admin_password: Any) -> list[Manifest]:
    return [
        *network_policies(settings.network),
        *prometheus_manifests(settings),
        *alertmanager_manifests(settings),
        *grafana_manifests(settings, grafana_admin_password),
        *node_exporter_manifests(settings),
        *kube_state_metrics_manifests(settings),
    ]
