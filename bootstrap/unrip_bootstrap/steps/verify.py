"""The end state, verified: platform, deploy agent and apps rolled out, no pod in a crash or pull
loop, and CI's last run for this commit not failed.

Readiness of an app is its `/readyz` (the manifests' readiness probe): connected to Kafka and
consuming, so "rolled out" here means "the pipeline is processing".
"""

from __future__ import annotations

from typing import Final

from unrip_platform import names
from unrip_platform.cluster.namespaces import FORGEJO_APP, REDPANDA_APP, RUNNER_APP

from unrip_bootstrap.clients.forgejo import ForgejoError
from unrip_bootstrap.context import StepContext
from unrip_bootstrap.steps.base import Check, StepFailedError
from unrip_bootstrap.steps.deliver import ORG, REPO, apps_rolled_out, wait_for_rollouts
from unrip_bootstrap.steps.workloads import pod_problems, workload_state

PLATFORM_WORKLOADS: Final = (
    (names.NAMESPACE_PLATFORM, "statefulset", REDPANDA_APP),
    (names.NAMESPACE_PLATFORM, "deployment", FORGEJO_APP),
    (names.NAMESPACE_PLATFORM, "deployment", RUNNER_APP),
    (names.NAMESPACE_PLATFORM, "deployment", names.BUILDKIT_SERVICE),
    (names.NAMESPACE_DEPLOY, "deployment", names.DEPLOY_AGENT),
)


def health_problems(ctx: StepContext) -> list[str]:
    kube = ctx.kube()
    problems = []
    for namespace, kind, name in PLATFORM_WORKLOADS:
        obj = kube.get(kind, namespace, name)
        if obj is None:
            problems.append(f"{namespace}/{kind}/{name}: missing")
        elif not (state := workload_state(kind, obj)).ready:
            problems.append(f"{state.ref}: {state.reason}")
    apps = apps_rolled_out(ctx)
    if apps.status != "converged":
        problems.append(apps.detail)
    for namespace in (names.NAMESPACE_PLATFORM, names.NAMESPACE_DEPLOY, names.NAMESPACE_APPS):
        problems.extend(pod_problems(kube, namespace))
    head = ctx.clients.git.head()
    try:
        with ctx.forgejo() as forgejo:
            runs = forgejo.list_runs(ORG, REPO, head)
    except ForgejoError as exc:
        problems.append(f"Forgejo: {exc}")
    else:
        if runs and runs[0].get("status") in ("failure", "cancelled"):
            problems.append(
                f"the last workflow run of {head[:12]} ended {runs[0]['status']}: "
                f"{runs[0].get('html_url', '')}"
            )
    return problems


class VerifyStep:
    name = "verify"
    title = "rollouts complete, pods healthy, pipeline green"

    def check(self, ctx: StepContext, *, deep: bool) -> Check:
        problems = health_problems(ctx)
        if problems:
            return Check.pending("not healthy yet", tuple(problems))
        return Check.converged("platform and apps healthy; pipeline green")

    def apply(self, ctx: StepContext) -> str:
        wait_for_rollouts(ctx)
        problems = health_problems(ctx)
        if problems:
            raise StepFailedError(
                "unhealthy after waiting for the rollouts:\n" + "\n".join(problems)
            )
        return "platform and apps healthy; pipeline green"
