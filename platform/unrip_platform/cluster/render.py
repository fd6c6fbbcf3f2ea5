"""Every manifest of the cluster project, in apply order, as plain dicts (offline-checkable)."""

from __future__ import annotations

from pathlib import Path

from unrip_platform.cluster import agent
from unrip_platform.cluster.buildkit import buildkit_manifests
from unrip_platform.cluster.bus_access import bus_access_manifests
from unrip_platform.cluster.common import Manifest
from unrip_platform.cluster.deployer import deployer_manifests
from unrip_platform.cluster.forgejo import forgejo_manifests
from unrip_platform.cluster.monitoring.stack import monitoring_manifests
from unrip_platform.cluster.namespaces import namespace_manifests
from unrip_platform.cluster.redpanda import redpanda_manifests
from unrip_platform.cluster.runner import runner_manifests
from unrip_platform.cluster.secret_values import PLACEHOLDERS, PlatformSecrets
from unrip_platform.cluster.settings import ClusterSettings
from unrip_platform.cluster.topics import topic_job_manifests

GRAFANA_PASSWORD_PLACEHOLDER = "placeholder-grafana-admin-password"  # noqa: S105


def render_manifests(
    settings: ClusterSettings, secrets: PlatformSecrets = PLACEHOLDERS
) -> list[Manifest]:
    return [
        *namespace_manifests(settings.network),
        *agent.namespace_manifests(settings.network),
        *redpanda_manifests(settings, secrets),
        *bus_access_manifests(settings, secrets),
        *topic_job_manifests(settings),
        *forgejo_manifests(settings, secrets),
        *runner_manifests(settings),
        *buildkit_manifests(settings),
        *agent.agent_manifests(settings),
        *deployer_manifests(),
        *monitoring_manifests(settings, GRAFANA_PASSWORD_PLACEHOLDER),
    ]


# The checkov failures this project accepts, each with its scope and reason.
POLICY_EXCEPTIONS = Path(__file__).with_name("policy_exceptions.yaml")
