"""Metric names the rules and dashboards may use, and where each comes from.

App metrics are read from the services themselves (``app_metric_names``): importing a service
module registers its metrics in prometheus_client's default registry. Platform metrics are
listed here by hand, each group citing its source. ``EXPECTED_FROM_APPS`` names what the alerts
need and the apps do not export yet: the apps side adds them, and test_metric_names.py fails
as soon as one is exported (delete it here then) or has the wrong type or labels.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Final

SERVICE_MODULES: Final = (
    "unrip.ingest.service",
    "unrip.reactor.service",
    "unrip.executor.service",
    "unrip.monitor.service",
    "unrip.venues.paper.server",
)

# Sample names per metric type, as the Prometheus text format exposes them
# (prometheus_client strips "_total" from a counter's family name).
_SUFFIXES: Final = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
    "info": ("_info",),
    "stateset": ("",),
    "unknown": ("",),
}


@dataclass(frozen=True)
class Exported:
    name: str  # the family name (a counter's without "_total")
    type: str
    labels: frozenset[str]


def app_metrics() -> dict[str, Exported]:
    """Every metric family the services register, by family name."""
    from prometheus_client import REGISTRY

    for module in SERVICE_MODULES:
        importlib.import_module(module)
    families: dict[str, Exported] = {}
    for collector in list(REGISTRY._collector_to_names):  # no public listing of collectors
        label_names = frozenset(getattr(collector, "_labelnames", ()))
        for family in collector.collect():
            families[family.name] = Exported(family.name, family.type, label_names)
    return families


def sample_names(family: Exported) -> set[str]:
    return {family.name + suffix for suffix in _SUFFIXES[family.type]}


def app_metric_names() -> set[str]:
    return {name for family in app_metrics().values() for name in sample_names(family)}


@dataclass(frozen=True)
class Expected:
    """A metric the alerts need from the apps: what it means, its type and its labels."""

    type: str
    labels: frozenset[str]
    help: str


# What the alerts need and the apps do not export yet (empty: the apps export all of them).
EXPECTED_FROM_APPS: Final[dict[str, Expected]] = {}


def expected_sample_names() -> set[str]:
    return {
        sample
        for name, spec in EXPECTED_FROM_APPS.items()
        for sample in sample_names(Exported(name, spec.type, spec.labels))
    }


# Prometheus itself adds these to every target (prometheus.io/docs/concepts/jobs_instances).
PROMETHEUS_SYNTHETIC: Final = frozenset(
    {"up", "scrape_duration_seconds", "scrape_samples_scraped", "scrape_series_added"}
)

# kube-state-metrics v2.15 (docs/metrics/workload/pod-metrics.md and friends in
# github.com/kubernetes/kube-state-metrics).
KUBE_STATE_METRICS: Final = frozenset(
    {
        "kube_pod_info",
        "kube_pod_status_phase",
        "kube_pod_status_ready",
        "kube_pod_container_status_restarts_total",
        "kube_pod_container_status_waiting_reason",
        "kube_pod_container_status_ready",
        "kube_pod_container_resource_limits",
        "kube_pod_container_resource_requests",
        "kube_deployment_status_replicas_available",
        "kube_statefulset_status_replicas_ready",
    }
)

# node-exporter v1.9 (github.com/prometheus/node_exporter, collectors filesystem, cpu, meminfo,
# loadavg).
NODE_EXPORTER: Final = frozenset(
    {
        "node_filesystem_avail_bytes",
        "node_filesystem_size_bytes",
        "node_cpu_seconds_total",
        "node_memory_MemAvailable_bytes",
        "node_memory_MemTotal_bytes",
        "node_load1",
    }
)

# Redpanda /public_metrics (docs.redpanda.com, reference/public-metrics-reference); the consumer
# group metrics need `enable_consumer_group_metrics` with "group", "partition", "consumer_lag".
REDPANDA: Final = frozenset(
    {
        "redpanda_kafka_consumer_group_lag_sum",
        "redpanda_kafka_consumer_group_lag_max",
        "redpanda_kafka_consumer_group_committed_offset",
        "redpanda_kafka_under_replicated_replicas",
        "redpanda_cluster_unavailable_partitions",
        "redpanda_kafka_request_bytes_total",
        "redpanda_storage_disk_free_bytes",
        "redpanda_storage_disk_total_bytes",
    }
)

PLATFORM_METRICS: Final = PROMETHEUS_SYNTHETIC | KUBE_STATE_METRICS | NODE_EXPORTER | REDPANDA
