"""Settings of the cluster project: one validated object, documented in Pulumi.example.yaml.

Defaults are sized for a single 4 vCPU / 8 GB node (Hetzner CPX31-class) shared with the apps.
Unknown keys are rejected so that a misspelt setting fails `pulumi preview` instead of being
silently ignored.
"""

from __future__ import annotations

from typing import Final

from pydantic import BaseModel, ConfigDict, Field, field_validator

from unrip_platform.cluster.bus_acls import BY_SERVICE

# Pinned images. Bump deliberately (and read the release notes): Forgejo migrates its database
# on start, Redpanda upgrades one minor version at a time. A tag-only image is pulled by the
# digest the bootstrap pinned on first contact (`image_pins.py`, docs/security.md); the cluster
# program refuses to deploy one it has no digest for. A new tag is resolved on the next run.
REDPANDA_IMAGE: Final = "docker.redpanda.com/redpandadata/redpanda:v25.2.11"
FORGEJO_IMAGE: Final = "codeberg.org/forgejo/forgejo:15.0.7-rootless"
RUNNER_IMAGE: Final = "data.forgejo.org/forgejo/runner:13.0.0"
BUILDKIT_IMAGE: Final = "moby/buildkit:v0.25.2-rootless"
# The environment CI jobs run in (host mode): Debian with Python 3.11 and git, like the repo needs.
JOB_IMAGE: Final = "python:3.11.13-bookworm"
SOCAT_IMAGE: Final = "alpine/socat:1.8.0.3"
# The monitoring stack, pinned here by tag and multi-arch index digest (left alone by the pins).
PROMETHEUS_IMAGE: Final = (
    "quay.io/prometheus/prometheus:v3.5.0"
    "@sha256:63805ebb8d2b3920190daf1cb14a60871b16fd38bed42b857a3182bc621f4996"
)
ALERTMANAGER_IMAGE: Final = (
    "quay.io/prometheus/alertmanager:v0.28.1"
    "@sha256:27c475db5fb156cab31d5c18a4251ac7ed567746a2483ff264516437a39b15ba"
)
GRAFANA_IMAGE: Final = (
    "docker.io/grafana/grafana:12.1.1"
    "@sha256:a1701c2180249361737a99a01bc770db39381640e4d631825d38ff4535efa47d"
)
NODE_EXPORTER_IMAGE: Final = (
    "quay.io/prometheus/node-exporter:v1.9.1"
    "@sha256:d00a542e409ee618a4edc67da14dd48c5da66726bbd5537ab2af9c1dfc442c8a"
)
KUBE_STATE_METRICS_IMAGE: Final = (
    "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.15.0"
    "@sha256:db384bf43222b066c378e77027a675d4cd9911107adba46c2922b3a55e10d6fb"
)


class _Settings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Resources(_Settings):
    """Requests and limits of one container (Kubernetes quantity strings)."""

    cpu_request: str
    cpu_limit: str
    memory_request: str
    memory_limit: str


class Images(_Settings):
    redpanda: str = REDPANDA_IMAGE
    forgejo: str = FORGEJO_IMAGE
    runner: str = RUNNER_IMAGE
    buildkit: str = BUILDKIT_IMAGE
    job: str = JOB_IMAGE
    socat: str = SOCAT_IMAGE
    prometheus: str = PROMETHEUS_IMAGE
    alertmanager: str = ALERTMANAGER_IMAGE
    grafana: str = GRAFANA_IMAGE
    node_exporter: str = NODE_EXPORTER_IMAGE
    kube_state_metrics: str = KUBE_STATE_METRICS_IMAGE


class RedpandaSettings(_Settings):
    replicas: int = Field(default=1, ge=1)
    # Seastar shards (--smp); the container gets exactly this many cores.
    cores: int = Field(default=1, ge=1)
    # Container memory; Redpanda is given 80 % of it (--memory), the rest is for rpk and the OS.
    memory_mib: int = Field(default=2048, ge=1024)
    storage: str = "20Gi"
    # Bus passwords to regenerate: service -> generation (default 0). Raising a service's number
    # makes Pulumi generate a new password for it, rewrite its Secret and rerun the bus-access
    # Job, which sets it in Redpanda; then restart that service (docs/runbooks.md).
    credential_generations: dict[str, int] = {}

    @field_validator("credential_generations")
    @classmethod
    def _known_services(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(value) - set(BY_SERVICE))
        if unknown:
            known = ", ".join(sorted(BY_SERVICE))
            raise ValueError(f"unknown bus service(s) {', '.join(unknown)}; known: {known}")
        if any(generation < 0 for generation in value.values()):
            raise ValueError("credential generations are 0 or more")
        return value


class ForgejoSettings(_Settings):
    # "admin" is reserved by Forgejo.
    admin_username: str = "unrip-admin"
    admin_email: str = "unrip-admin@unrip.internal"
    storage: str = "10Gi"
    resources: Resources = Resources(
        cpu_request="100m", cpu_limit="1", memory_request="256Mi", memory_limit="1Gi"
    )


class RunnerSettings(_Settings):
    name: str = "unrip-runner"
    capacity: int = Field(default=1, ge=1)
    job_timeout: str = "1h"
    resources: Resources = Resources(
        cpu_request="250m", cpu_limit="2", memory_request="512Mi", memory_limit="2Gi"
    )
    buildkit_resources: Resources = Resources(
        cpu_request="250m", cpu_limit="2", memory_request="512Mi", memory_limit="3Gi"
    )
    # Scratch space for job workdirs and BuildKit's layer cache (emptyDir limits).
    workspace_size: str = "10Gi"
    buildkit_cache_size: str = "20Gi"


class AgentSettings(_Settings):
    """The deploy agent (cluster/agent.py): it polls, runs ci/build.py and ci/deploy.py."""

    resources: Resources = Resources(
        cpu_request="50m", cpu_limit="1", memory_request="128Mi", memory_limit="512Mi"
    )
    # Its checkout and the build context it sends to BuildKit (emptyDir limit).
    scratch_size: str = "4Gi"


class MonitoringSettings(_Settings):
    """Prometheus, Alertmanager, Grafana and the two exporters (cluster/monitoring)."""

    # Prometheus' claim on the data volume; it keeps at most RETENTION_SHARE of it.
    storage_gib: int = Field(default=10, ge=2)
    retention_days: int = Field(default=30, ge=1)
    scrape_interval: str = "15s"
    prometheus_resources: Resources = Resources(
        cpu_request="100m", cpu_limit="1", memory_request="256Mi", memory_limit="1Gi"
    )
    grafana_resources: Resources = Resources(
        cpu_request="50m", cpu_limit="500m", memory_request="128Mi", memory_limit="512Mi"
    )
    small_resources: Resources = Resources(
        cpu_request="10m", cpu_limit="200m", memory_request="32Mi", memory_limit="128Mi"
    )


class NetworkSettings(_Settings):
    """k3s's defaults: pods and services, excluded from the "internet" egress rules."""

    cluster_cidr: str = "10.42.0.0/16"
    service_cidr: str = "10.43.0.0/16"
    # The Kubernetes API as pods reach it: the `kubernetes` Service's address, and after DNAT
    # the server node's private address (platform/hetzner: the subnet's host 10). Only these two
    # /32s are ever allowed on 443/6443; no pod may reach another node port (kubelet, 10250).
    api_service_ip: str = "10.43.0.1"
    api_server_ip: str = "10.0.1.10"


class ClusterSettings(_Settings):
    storage_class: str = "local-path"
    images: Images = Images()
    redpanda: RedpandaSettings = RedpandaSettings()
    forgejo: ForgejoSettings = ForgejoSettings()
    runner: RunnerSettings = RunnerSettings()
    agent: AgentSettings = AgentSettings()
    network: NetworkSettings = NetworkSettings()
    monitoring: MonitoringSettings = MonitoringSettings()
