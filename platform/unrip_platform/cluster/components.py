"""Pulumi components of the cluster project: the rendered manifests, wired in dependency order.

Order on a fresh cluster: namespaces and policies -> Redpanda -> the bus-access job (SCRAM
users and ACLs, awaited) -> the topic job (awaited to completion) ; secrets -> Forgejo (its
sidecar registers the runner secret) -> the runner ; BuildKit ; the deploy agent (not awaited:
its credentials come from the bootstrap) and the deployer Role bound to it. Every generated
secret is a Pulumi secret from creation to Kubernetes.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pulumi
import pulumi_random as random

from unrip_platform import names
from unrip_platform.cluster import (
    agent,
    buildkit,
    bus_access,
    bus_acls,
    deployer,
    forgejo,
    namespaces,
    redpanda,
    runner,
    topics,
)
from unrip_platform.cluster.monitoring.stack import monitoring_manifests
from unrip_platform.cluster.resources import create_group, resource_name
from unrip_platform.cluster.secret_values import PlatformSecrets
from unrip_platform.cluster.settings import ClusterSettings

TYPE_PREFIX = "unrip:cluster"


def kubeconfig_content(value: str) -> str:
    """The kubeconfig itself, given either its content or a path to it (``~`` expanded)."""
    text = value.strip()
    if "\n" in text or text.startswith(("apiVersion", "{")):
        return value
    path = Path(text).expanduser()
    if not path.is_file():
        raise ValueError(
            "kubeconfig: neither a kubeconfig document nor a readable file path was given"
        )
    return path.read_text()


def _raw_url_base64(standard: str) -> str:
    """Forgejo reads its JWT secret as unpadded URL-safe base64 of 32 bytes."""
    return base64.urlsafe_b64encode(base64.b64decode(standard)).rstrip(b"=").decode()


class GeneratedSecrets(pulumi.ComponentResource):
    """Random values, generated once and kept in the (encrypted) Pulumi state."""

    values: PlatformSecrets

    def __init__(
        self,
        name: str,
        opts: pulumi.ResourceOptions | None = None,
        *,
        bus_generations: dict[str, int] | None = None,
    ) -> None:
        super().__init__(f"{TYPE_PREFIX}:GeneratedSecrets", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)

        def password(
            key: str, length: int, keepers: dict[str, str] | None = None
        ) -> pulumi.Output[str]:
            generated = random.RandomPassword(
                key, length=length, special=False, keepers=keepers, opts=child
            )
            return pulumi.Output.secret(generated.result)

        # A new generation (settings.redpanda.credential_generations) replaces the password.
        generations = bus_generations or {}
        bus_passwords = {
            p.service: password(
                f"bus-password-{p.service}",
                32,
                keepers={"generation": str(generations.get(p.service, 0))},
            )
            for p in bus_acls.PRINCIPALS
        }

        jwt = random.RandomBytes("forgejo-jwt-secret", length=32, opts=child)
        shared = random.RandomBytes("forgejo-runner-secret", length=20, opts=child)
        self.values = PlatformSecrets(
            forgejo_admin_password=password("forgejo-admin-password", 32),
            forgejo_secret_key=password("forgejo-secret-key", 64),
            forgejo_internal_token=password("forgejo-internal-token", 64),
            forgejo_jwt_secret=pulumi.Output.secret(jwt.base64.apply(_raw_url_base64)),
            runner_secret=pulumi.Output.secret(shared.hex),
            bus_superuser_password=password("bus-superuser-password", 32),
            bus_passwords=bus_passwords,
        )
        self.register_outputs({})


class _Group(pulumi.ComponentResource):
    """A named set of manifests created together (see ``resources.create_group``)."""

    def __init__(
        self,
        kind: str,
        name: str,
        manifests: list[dict[str, Any]],
        *,
        depends_on: list[pulumi.Resource] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(f"{TYPE_PREFIX}:{kind}", name, None, opts)
        self.resources = create_group(manifests, parent=self, depends_on=depends_on or [])
        self.register_outputs({})

    def get(self, manifest_kind: str, namespace: str, name: str) -> pulumi.CustomResource:
        key = resource_name(
            {"kind": manifest_kind, "metadata": {"namespace": namespace, "name": name}}
        )
        return self.resources[key]


class ClusterPlatform(pulumi.ComponentResource):
    """Everything the apps need inside k3s."""

    def __init__(
        self, name: str, settings: ClusterSettings, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(f"{TYPE_PREFIX}:Platform", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        ns = names.NAMESPACE_PLATFORM

        self.secrets = GeneratedSecrets(
            "secrets", opts=child, bus_generations=settings.redpanda.credential_generations
        )
        self.namespaces = _Group(
            "Namespaces",
            "namespaces",
            [
                *namespaces.namespace_manifests(settings.network),
                *agent.namespace_manifests(settings.network),
            ],
            opts=child,
        )
        after_namespaces: list[pulumi.Resource] = [self.namespaces]
        self.redpanda = _Group(
            "Redpanda",
            "redpanda",
            redpanda.redpanda_manifests(settings, self.secrets.values),
            depends_on=after_namespaces,
            opts=child,
        )
        broker = self.redpanda.get("StatefulSet", ns, namespaces.REDPANDA_APP)
        self.bus_access = _Group(
            "BusAccess",
            "bus-access",
            bus_access.bus_access_manifests(settings, self.secrets.values),
            depends_on=[*after_namespaces, broker],
            opts=child,
        )
        users = self.bus_access.get("Job", ns, bus_access.job_name(settings))
        self.topics = _Group(
            "Topics",
            "topics",
            topics.topic_job_manifests(settings),
            # The topic job logs in as unrip-topics, which the bus-access Job creates.
            depends_on=[*after_namespaces, broker, users],
            opts=child,
        )
        self.forgejo = _Group(
            "Forgejo",
            "forgejo",
            forgejo.forgejo_manifests(settings, self.secrets.values),
            depends_on=after_namespaces,
            opts=child,
        )
        forge = self.forgejo.get("Deployment", ns, namespaces.FORGEJO_APP)
        self.runner = _Group(
            "ForgejoRunner",
            "forgejo-runner",
            runner.runner_manifests(settings),
            # Forgejo is ready only after its init container registered the runner's secret.
            depends_on=[*after_namespaces, forge],
            opts=child,
        )
        self.buildkit = _Group(
            "BuildKit",
            "buildkit",
            buildkit.buildkit_manifests(settings),
            depends_on=after_namespaces,
            opts=child,
        )
        self.agent = _Group(
            "DeployAgent",
            "deploy-agent",
            agent.agent_manifests(settings),
            depends_on=after_namespaces,
            opts=child,
        )
        self.deployer = _Group(
            "Deployer",
            "deployer",
            deployer.deployer_manifests(),
            depends_on=[*after_namespaces, self.agent],
            opts=child,
        )
        grafana_password = random.RandomPassword(
            "grafana-admin-password", length=32, special=False, opts=child
        )
        self.monitoring = _Group(
            "Monitoring",
            "monitoring",
            monitoring_manifests(settings, pulumi.Output.secret(grafana_password.result)),
            depends_on=after_namespaces,
            opts=child,
        )
        self.outputs: dict[str, Any] = {
            "forgejo_url": names.FORGEJO_ROOT_URL,
            "forgejo_port_forward": (
                f"kubectl -n {ns} port-forward svc/{names.FORGEJO_SERVICE} "
                f"{names.FORGEJO_REGISTRY_NODEPORT}:{names.FORGEJO_HTTP_PORT}"
            ),
            "forgejo_admin_username": settings.forgejo.admin_username,
            "forgejo_admin_password": self.secrets.values.forgejo_admin_password,
            "registry_push": agent.agent_environment()["UNRIP_REGISTRY_PUSH"],
            "image_repository": names.IMAGE_REPOSITORY,
            "kafka_bootstrap": names.KAFKA_BOOTSTRAP_IN_CLUSTER,
            "runner_label": names.FORGEJO_RUNNER_LABEL,
            "deploy_agent": f"{names.NAMESPACE_DEPLOY}/{names.DEPLOY_AGENT}",
            "deploy_agent_logs": (
                f"kubectl -n {names.NAMESPACE_DEPLOY} logs deploy/{names.DEPLOY_AGENT} -c agent -f"
            ),
            "grafana_port_forward": f"kubectl -n {ns} port-forward svc/grafana 3001:3000",
            "grafana_admin_password": pulumi.Output.secret(grafana_password.result),
        }
        self.register_outputs(self.outputs)
