"""The monitoring stack: Prometheus, Alertmanager, Grafana, node-exporter, kube-state-metrics.

Hand-written objects like Redpanda and Forgejo (docs/decisions.md says why), in the platform
namespace under its default-deny policy: Prometheus alone may open connections to the metrics
ports, and the scraped components admit it and nothing more. Prometheus keeps its TSDB on the
data volume (a local-path claim) with a size-based retention below the claim. Grafana is
stateless: its datasource and dashboards are provisioned from ConfigMaps, its admin password
from a Pulumi-generated secret. Alertmanager's receiver URL is read from a Secret the operator's
secrets-templates/alerting.yaml fills; without it alerts stay visible in Alertmanager only.
"""

from __future__ import annotations

from typing import Any, Final

import yaml

from unrip_platform import names
from unrip_platform.cluster.common import (
    Manifest,
    config_map,
    container_security_context,
    content_hash,
    empty_dir,
    http_probe,
    labels,
    metadata,
    mount,
    pod_security_context,
    resources,
    secret,
    selector,
    service_account,
)
from unrip_platform.cluster.monitoring import dashboard_files, rule_files
from unrip_platform.cluster.namespaces import (
    FORGEJO_APP,
    REDPANDA_ADMIN_PORT,
    REDPANDA_APP,
    api_server_egress,
    public_internet,
)
from unrip_platform.cluster.settings import ClusterSettings, MonitoringSettings, NetworkSettings

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


def _api_token_volume() -> dict[str, Any]:
    """The ServiceAccount token, mounted explicitly (projected, rotating) where it is needed."""
    return {
        "name": "kube-api-access",
        "projected": {
            "defaultMode": 0o444,
            "sources": [
                {"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}},
                {
                    "configMap": {
                        "name": "kube-root-ca.crt",
                        "items": [{"key": "ca.crt", "path": "ca.crt"}],
                    }
                },
                {
                    "downwardAPI": {
                        "items": [
                            {"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}
                        ]
                    }
                },
            ],
        },
    }


def _service(name: str, port: int) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(name, NS, COMPONENT),
        "spec": {
            "type": "ClusterIP",
            "selector": selector(name),
            "ports": [{"name": "http", "port": port, "targetPort": "http"}],
        },
    }


def _container(
    name: str,
    image: str,
    args: list[str],
    port: int,
    spec_resources: Any,
    *,
    live: str,
    ready: str,
    mounts: list[dict[str, Any]],
) -> dict[str, Any]:
    return {
        "name": name,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "args": args,
        "ports": [{"name": "http", "containerPort": port}],
        "securityContext": container_security_context(),
        "resources": resources(spec_resources),
        "startupProbe": http_probe(ready, "http", period=5, failures=60),
        "readinessProbe": http_probe(ready, "http"),
        "livenessProbe": http_probe(live, "http", period=30, failures=4),
        "volumeMounts": mounts,
    }


def _workload(
    kind: str,
    name: str,
    uid: int,
    containers: list[dict[str, Any]],
    volumes: list[dict[str, Any]],
    *,
    config_hash: str = "",
    extra_labels: dict[str, str] | None = None,
) -> Manifest:
    pod_labels = {**labels(name, COMPONENT), **(extra_labels or {})}
    template: dict[str, Any] = {
        "metadata": {"labels": pod_labels},
        "spec": {
            "serviceAccountName": name,
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "securityContext": pod_security_context(uid),
            "containers": containers,
            "volumes": volumes,
        },
    }
    if config_hash:
        template["metadata"]["annotations"] = {"unrip.io/config-hash": config_hash}
    spec: dict[str, Any] = {"selector": {"matchLabels": selector(name)}, "template": template}
    if kind == "Deployment":
        # One writer of a volume (Prometheus' TSDB) or one instance: never two pods at once.
        spec.update({"replicas": 1, "strategy": {"type": "Recreate"}})
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": metadata(name, NS, COMPONENT),
        "spec": spec,
    }


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
    container = _container(
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
        _service(PROMETHEUS, PROMETHEUS_PORT),
        _workload(
            "Deployment",
            PROMETHEUS,
            NOBODY,
            [container],
            [
                {"name": "data", "persistentVolumeClaim": {"claimName": DATA_CLAIM}},
                {"name": "config", "configMap": {"name": "prometheus-config"}},
                {"name": "rules", "configMap": {"name": "prometheus-rules"}},
                _api_token_volume(),
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
    container = _container(
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
        _service(ALERTMANAGER, ALERTMANAGER_PORT),
        _workload(
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
    container = _container(
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
        _service(GRAFANA, GRAFANA_PORT),
        _workload(
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


def node_exporter_manifests(settings: ClusterSettings) -> list[Manifest]:
    """Node metrics (CPU, memory, filesystems: the data volume) from the host's root, read-only.

    Pod network, no host PID or network namespace: only the host filesystem is shared, so the
    NetworkPolicy still decides who reaches it.
    """
    excluded = "^/(dev|proc|sys|run|var/lib/kubelet|var/lib/rancher/k3s/agent/containerd)($|/)"
    args = [
        "--path.rootfs=/host/root",
        f"--web.listen-address=:{NODE_EXPORTER_PORT}",
        f"--collector.filesystem.mount-points-exclude={excluded}",
        "--no-collector.wifi",
        "--no-collector.hwmon",
    ]
    container = _container(
        NODE_EXPORTER,
        settings.images.node_exporter,
        args,
        NODE_EXPORTER_PORT,
        settings.monitoring.small_resources,
        live="/",
        ready="/",
        mounts=[
            {
                "name": "root",
                "mountPath": "/host/root",
                "readOnly": True,
                "mountPropagation": "HostToContainer",
            }
        ],
    )
    return [
        service_account(NODE_EXPORTER, NS, COMPONENT),
        _workload(
            "DaemonSet",
            NODE_EXPORTER,
            NOBODY,
            [container],
            [{"name": "root", "hostPath": {"path": "/", "type": "Directory"}}],
        ),
    ]


def kube_state_metrics_manifests(settings: ClusterSettings) -> list[Manifest]:
    watched = ["pods", "deployments", "statefulsets", "daemonsets", "persistentvolumeclaims"]
    args = [
        f"--port={KSM_PORT}",
        f"--telemetry-port={KSM_TELEMETRY_PORT}",
        f"--resources={','.join(watched)}",
        f"--namespaces={names.NAMESPACE_APPS},{NS}",
    ]
    container = _container(
        KUBE_STATE_METRICS,
        settings.images.kube_state_metrics,
        args,
        KSM_PORT,
        settings.monitoring.small_resources,
        live="/healthz",
        ready="/healthz",
        mounts=[mount("kube-api-access", TOKEN_DIR, read_only=True)],
    )
    role_name = "unrip-kube-state-metrics"
    return [
        service_account(KUBE_STATE_METRICS, NS, COMPONENT),
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": role_name, "labels": labels(KUBE_STATE_METRICS, COMPONENT)},
            "rules": [
                {
                    "apiGroups": [""],
                    "resources": ["pods", "persistentvolumeclaims"],
                    "verbs": ["list", "watch"],
                },
                {
                    "apiGroups": ["apps"],
                    "resources": ["deployments", "statefulsets", "daemonsets"],
                    "verbs": ["list", "watch"],
                },
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": role_name, "labels": labels(KUBE_STATE_METRICS, COMPONENT)},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": role_name,
            },
            "subjects": [{"kind": "ServiceAccount", "name": KUBE_STATE_METRICS, "namespace": NS}],
        },
        _service(KUBE_STATE_METRICS, KSM_PORT),
        _workload(
            "Deployment",
            KUBE_STATE_METRICS,
            NOBODY,
            [container],
            [_api_token_volume()],
        ),
    ]


def _tcp(*ports: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": port} for port in ports]


def _pods(app: str, namespace: str | None = None) -> dict[str, Any]:
    peer: dict[str, Any] = {"podSelector": {"matchLabels": selector(app)}}
    if namespace is not None:
        peer["namespaceSelector"] = {"matchLabels": {"kubernetes.io/metadata.name": namespace}}
    return peer


def _policy(name: str, spec: dict[str, Any]) -> Manifest:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(name, NS, "network"),
        "spec": spec,
    }


def network_policies(network: NetworkSettings) -> list[Manifest]:
    """Prometheus reaches the metrics ports; each scraped component admits Prometheus only."""
    prometheus = _pods(PROMETHEUS)
    apps = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": names.NAMESPACE_APPS}},
        "podSelector": {
            "matchExpressions": [
                {"key": "app.kubernetes.io/name", "operator": "In", "values": list(APPS)}
            ]
        },
    }

    def admits_prometheus(name: str, app: str, port: int) -> Manifest:
        return _policy(
            name,
            {
                "podSelector": {"matchLabels": selector(app)},
                "policyTypes": ["Ingress"],
                "ingress": [{"from": [prometheus], "ports": _tcp(port)}],
            },
        )

    return [
        _policy(
            PROMETHEUS,
            {
                "podSelector": {"matchLabels": selector(PROMETHEUS)},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [_pods(GRAFANA)], "ports": _tcp(PROMETHEUS_PORT)}],
                "egress": [
                    {"to": [apps], "ports": _tcp(APP_METRICS_PORT)},
                    {"to": [_pods(REDPANDA_APP)], "ports": _tcp(REDPANDA_ADMIN_PORT)},
                    {"to": [_pods(FORGEJO_APP)], "ports": _tcp(names.FORGEJO_HTTP_PORT)},
                    {"to": [_pods(NODE_EXPORTER)], "ports": _tcp(NODE_EXPORTER_PORT)},
                    {"to": [_pods(KUBE_STATE_METRICS)], "ports": _tcp(KSM_PORT)},
                    {"to": [_pods(ALERTMANAGER)], "ports": _tcp(ALERTMANAGER_PORT)},
                    # Discovery through the API server only. No kubelet: pods never reach a
                    # node's 10250 (docs/security.md); container usage comes from the
                    # processes' own metrics instead (docs/decisions.md).
                    *api_server_egress(network),
                ],
            },
        ),
        _policy(
            ALERTMANAGER,
            {
                "podSelector": {"matchLabels": selector(ALERTMANAGER)},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [prometheus], "ports": _tcp(ALERTMANAGER_PORT)}],
                # The receiver (webhook / ntfy) over HTTPS, on the public internet only.
                "egress": [{"to": [public_internet(network)], "ports": _tcp(443)}],
            },
        ),
        _policy(
            GRAFANA,
            {
                # Reached by port-forward only (which no NetworkPolicy sees); reads Prometheus.
                "podSelector": {"matchLabels": selector(GRAFANA)},
                "policyTypes": ["Ingress", "Egress"],
                "egress": [{"to": [prometheus], "ports": _tcp(PROMETHEUS_PORT)}],
            },
        ),
        admits_prometheus(NODE_EXPORTER, NODE_EXPORTER, NODE_EXPORTER_PORT),
        _policy(
            KUBE_STATE_METRICS,
            {
                "podSelector": {"matchLabels": selector(KUBE_STATE_METRICS)},
                "policyTypes": ["Ingress", "Egress"],
                "ingress": [{"from": [prometheus], "ports": _tcp(KSM_PORT)}],
                "egress": [
                    *api_server_egress(network),
                ],
            },
        ),
        # Added to Redpanda's own policy (policies are additive): its public metrics.
        admits_prometheus("redpanda-metrics", REDPANDA_APP, REDPANDA_ADMIN_PORT),
    ]


def monitoring_manifests(settings: ClusterSettings, grafana_admin_password: Any) -> list[Manifest]:
    return [
        *network_policies(settings.network),
        *prometheus_manifests(settings),
        *alertmanager_manifests(settings),
        *grafana_manifests(settings, grafana_admin_password),
        *node_exporter_manifests(settings),
        *kube_state_metrics_manifests(settings),
    ]
