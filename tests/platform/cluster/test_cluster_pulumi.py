"""The Pulumi resource graph, with the engine replaced by mocks that record what it is sent."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pulumi
import pytest
from pulumi.runtime import mocks
from pulumi.runtime.rpc import deserialize_properties, is_rpc_secret
from unrip_platform import names
from unrip_platform.cluster import bus_acls
from unrip_platform.cluster.components import ClusterPlatform, kubeconfig_content
from unrip_platform.cluster.render import render_manifests
from unrip_platform.cluster.resources import resource_name
from unrip_platform.cluster.settings import ClusterSettings

pytestmark = pytest.mark.platform


@dataclass
class Registration:
    type: str
    inputs: dict[str, Any]
    dependencies: set[str] = field(default_factory=set)


class Engine(pulumi.runtime.Mocks):
    """Answers like the providers would (random values are fixed) and records every resource."""

    def __init__(self) -> None:
        self.registered: dict[str, Registration] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        outputs = dict(args.inputs)
        if args.typ == "random:index/randomPassword:RandomPassword":
            outputs["result"] = "p" * int(args.inputs["length"])
        if args.typ == "random:index/randomBytes:RandomBytes":
            raw = bytes(range(int(args.inputs["length"])))
            outputs.update(base64=base64.b64encode(raw).decode(), hex=raw.hex())
        self.registered[args.name] = Registration(args.typ, args.inputs)
        return f"{args.name}-id", outputs

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        return {}, None


class RecordingMonitor(mocks.MockMonitor):
    """Keeps what the mocks API does not show: dependencies and components' outputs."""

    def __init__(self, engine: Engine) -> None:
        super().__init__(engine)
        self.dependencies: dict[str, set[str]] = {}
        self.outputs: dict[str, dict[str, Any]] = {}

    def RegisterResource(self, request: Any) -> Any:
        self.dependencies[request.name] = {urn.split("::")[-1] for urn in request.dependencies}
        return super().RegisterResource(request)  # type: ignore[no-untyped-call]

    def RegisterResourceOutputs(self, request: Any) -> Any:
        self.outputs[request.urn.split("::")[-1]] = deserialize_properties(request.outputs)
        return super().RegisterResourceOutputs(request)  # type: ignore[no-untyped-call]


@dataclass
class Program:
    engine: Engine
    monitor: RecordingMonitor
    platform: ClusterPlatform

    def inputs(self, name: str) -> dict[str, Any]:
        return self.engine.registered[name].inputs

    def depends(self, name: str) -> set[str]:
        return self.monitor.dependencies[name]


@pytest.fixture(scope="module")
def program() -> Program:
    engine = Engine()
    monitor = RecordingMonitor(engine)
    pulumi.runtime.set_mocks(
        engine, project="unrip-cluster", stack="test", preview=False, monitor=monitor
    )
    built: list[ClusterPlatform] = []

    def run() -> pulumi.Output[list[str]]:
        platform = ClusterPlatform("unrip", ClusterSettings())
        built.append(platform)
        groups = (
            platform.namespaces,
            platform.redpanda,
            platform.topics,
            platform.forgejo,
            platform.runner,
            platform.buildkit,
            platform.agent,
            platform.deployer,
            platform.bus_access,
        )
        return pulumi.Output.all(*(r.urn for g in groups for r in g.resources.values()))

    # Runs the program and waits until every resource has been registered.
    cast(Callable[[Callable[[], Any]], Callable[[], None]], pulumi.runtime.test)(run)()
    return Program(engine, monitor, built[0])


def test_every_rendered_manifest_becomes_a_resource(program: Program) -> None:
    rendered = {resource_name(m) for m in render_manifests(ClusterSettings())}
    kubernetes = {
        name for name, r in program.engine.registered.items() if r.type.startswith("kubernetes:")
    }
    assert rendered == kubernetes


def test_manifests_reach_the_provider_unchanged(program: Program) -> None:
    statefulset = program.inputs("statefulset-platform-redpanda")
    assert statefulset["spec"]["serviceName"] == "redpanda-internal"
    assert (
        statefulset["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"] == "local-path"
    )
    binding = program.inputs("rolebinding-apps-deployer")
    assert binding["roleRef"]["name"] == names.DEPLOYER_ROLE
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": names.DEPLOY_AGENT, "namespace": names.NAMESPACE_DEPLOY}
    ]


def secret_data(program: Program, name: str) -> dict[str, str]:
    """A Secret's stringData, which must reach the engine marked secret."""
    data = program.inputs(name)["stringData"]
    assert is_rpc_secret(data), f"{name} reached the engine in plain text"
    return dict(data["value"])


def test_generated_secrets_stay_secret(program: Program) -> None:
    forgejo = secret_data(program, "secret-platform-forgejo-secrets")
    assert set(forgejo) == {"secret-key", "internal-token", "jwt-secret", "admin-password"}
    assert set(secret_data(program, "secret-platform-forgejo-runner-secret")) == {"runner-secret"}


def test_bus_credentials_stay_secret_and_each_app_gets_only_its_own(program: Program) -> None:
    superuser = secret_data(program, "secret-platform-redpanda-superuser")
    users = secret_data(program, "secret-platform-redpanda-bus-users")
    assert set(users) == {p.service for p in bus_acls.PRINCIPALS}
    for service in bus_acls.APP_SERVICES:
        own = secret_data(program, f"secret-{names.NAMESPACE_APPS}-{names.bus_secret(service)}")
        assert own == {"username": f"unrip-{service}", "password": users[service]}
    assert superuser["username"] == "redpanda-superuser"


def test_secret_values_have_the_shapes_forgejo_requires(program: Program) -> None:
    jwt = secret_data(program, "secret-platform-forgejo-secrets")["jwt-secret"]
    assert "=" not in jwt and len(base64.urlsafe_b64decode(jwt + "=")) == 32
    runner = secret_data(program, "secret-platform-forgejo-runner-secret")["runner-secret"]
    assert len(runner) == 40 and int(runner, 16) >= 0


def test_outputs_mark_the_password_secret_and_nothing_else(program: Program) -> None:
    outputs = program.monitor.outputs["unrip"]
    assert outputs["forgejo_url"] == names.FORGEJO_ROOT_URL
    assert outputs["deploy_agent"] == f"{names.NAMESPACE_DEPLOY}/{names.DEPLOY_AGENT}"
    assert "deployer_token_secret" not in outputs  # no long-lived deploy token exists any more
    secret = {key for key, value in outputs.items() if is_rpc_secret(value)}
    assert secret == {"forgejo_admin_password", "grafana_admin_password"}


def test_workloads_wait_for_what_they_use(program: Program) -> None:
    forgejo = program.depends("deployment-platform-forgejo")
    assert {
        "secret-platform-forgejo-secrets",
        "configmap-platform-forgejo-config",
        "persistentvolumeclaim-platform-forgejo-data",
        "namespace-platform",
    } <= forgejo
    # The runner starts only once Forgejo (whose sidecar registers it) is ready.
    assert "deployment-platform-forgejo" in program.depends("deployment-platform-forgejo-runner")
    # The agent's namespace exists before its ServiceAccount and Deployment are created.
    assert "namespace-deploy" in program.depends("deployment-deploy-deploy-agent")
    assert "serviceaccount-deploy-deploy-agent" in program.depends("deployment-deploy-deploy-agent")


def test_pulumi_does_not_wait_for_the_agent_whose_credentials_come_later(
    program: Program,
) -> None:
    agent = program.inputs("deployment-deploy-deploy-agent")
    assert agent["metadata"]["annotations"]["pulumi.com/skipAwait"] == "true"


def test_the_jobs_wait_for_the_broker_and_the_topic_job_for_its_user(program: Program) -> None:
    jobs = {
        name.rsplit("-", 1)[0]: name
        for name, r in program.engine.registered.items()
        if r.type == "kubernetes:batch/v1:Job"
    }
    assert set(jobs) == {"job-platform-redpanda-topics", "job-platform-redpanda-bus-access"}
    for job in jobs.values():
        assert "statefulset-platform-redpanda" in program.depends(job)
    # The topic job logs in as unrip-topics, which the bus-access Job creates.
    assert jobs["job-platform-redpanda-bus-access"] in program.depends(
        jobs["job-platform-redpanda-topics"]
    )


def test_every_bus_password_is_generated_secret_and_rotatable(program: Program) -> None:
    passwords = {
        name: r
        for name, r in program.engine.registered.items()
        if r.type == "random:index/randomPassword:RandomPassword" and name.startswith("bus-")
    }
    assert set(passwords) == {"bus-superuser-password"} | {
        f"bus-password-{p.service}" for p in bus_acls.PRINCIPALS
    }
    for name, resource in passwords.items():
        assert resource.inputs["length"] >= 32, name
    assert passwords["bus-password-executor"].inputs["keepers"] == {"generation": "0"}


def test_claims_do_not_block_on_binding(program: Program) -> None:
    claim = program.inputs("persistentvolumeclaim-platform-forgejo-data")
    assert claim["metadata"]["annotations"]["pulumi.com/skipAwait"] == "true"


def test_kubeconfig_from_content_or_path(tmp_path: Path) -> None:
    document = "apiVersion: v1\nkind: Config\nclusters: []\n"
    assert kubeconfig_content(document) == document
    path = tmp_path / "kubeconfig.yaml"
    path.write_text(document)
    assert kubeconfig_content(str(path)) == document
    with pytest.raises(ValueError, match="kubeconfig"):
        kubeconfig_content(str(tmp_path / "missing.yaml"))
