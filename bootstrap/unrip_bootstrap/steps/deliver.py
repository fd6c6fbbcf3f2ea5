"""The first delivery: the deploy agent in the cluster builds the pushed head of main and deploys
it, or, while the agent is not running, a direct apply of the newest image in Forgejo's registry
with the same deploy script.

The agent tags each image with its commit, so "delivered" means: the registry has an image of
this commit, and every app runs exactly that digest, rolled out. A direct apply needs an image:
on the very first bootstrap there is none until the agent has built one, so without the agent
this step fails and says what to check.
"""

from __future__ import annotations

from typing import Final

from unrip_platform import names

from unrip_bootstrap.clients.forgejo import ForgejoClient, ForgejoError
from unrip_bootstrap.clock import NotReadyError, WaitTimeoutError
from unrip_bootstrap.context import StepContext
from unrip_bootstrap.steps.base import Check, StepFailedError
from unrip_bootstrap.steps.workloads import workload_state, workloads

ORG, REPO = names.FORGEJO_ORG, names.FORGEJO_REPO
IMAGE_NAME: Final = names.IMAGE_REPOSITORY.rsplit("/", 1)[1]
AGENT: Final = f"{names.NAMESPACE_DEPLOY}/deployment/{names.DEPLOY_AGENT}"
AGENT_LOGS: Final = f"kubectl -n {names.NAMESPACE_DEPLOY} logs deploy/{names.DEPLOY_AGENT} -c agent"


def apps_rolled_out(ctx: StepContext) -> Check:
    found = workloads(ctx.kube(), names.NAMESPACE_APPS)
    if not found:
        return Check.pending(f"nothing deployed in namespace {names.NAMESPACE_APPS} yet")
    not_ready = [f"{w.ref}: {w.reason}" for w in found if not w.ready]
    foreign = [
        w.ref for w in found if not all(i.startswith(names.IMAGE_REPOSITORY) for i in w.images)
    ]
    if not_ready:
        return Check.pending("not rolled out: " + "; ".join(not_ready))
    if foreign:
        return Check.pending("not running the pipeline's image: " + ", ".join(foreign))
    return Check.converged(f"{len(found)} workloads rolled out in {names.NAMESPACE_APPS}")


def wait_for_rollouts(ctx: StepContext) -> None:
    kube = ctx.kube()
    for workload in workloads(kube, names.NAMESPACE_APPS):
        kube.rollout_status(
            workload.kind, workload.namespace, workload.name, ctx.options.timeouts.rollout_s
        )


def agent_running(ctx: StepContext) -> bool:
    """Whether the deploy agent's pod is up (it is not until its credentials Secret exists)."""
    live = ctx.kube().get("deployment", names.NAMESPACE_DEPLOY, names.DEPLOY_AGENT)
    return live is not None and workload_state("deployment", live).ready


def delivered(ctx: StepContext, forgejo: ForgejoClient, head: str) -> str:
    """The digest the agent built from ``head`` once every app runs it, rolled out."""
    try:
        digest = forgejo.manifest_digest(ORG, IMAGE_NAME, head)
    except ForgejoError as exc:
        if exc.status != 404:
            raise
        raise NotReadyError(f"the deploy agent has not built {head[:12]} yet") from None
    image = f"{names.IMAGE_REPOSITORY}@{digest}"
    found = workloads(ctx.kube(), names.NAMESPACE_APPS)
    behind = [w.ref for w in found if set(w.images) != {image}]
    if not found or behind:
        raise NotReadyError(f"built {digest[:19]}; not deployed yet: {', '.join(behind) or 'apps'}")
    not_ready = [f"{w.ref}: {w.reason}" for w in found if not w.ready]
    if not_ready:
        raise NotReadyError("rolling out: " + "; ".join(not_ready))
    return digest


def _image_to_apply(forgejo: ForgejoClient, head: str) -> tuple[str, str]:
    """The image of this very commit if the pipeline built it (tagged with the commit), else
    the newest one in the registry."""
    try:
        return head, forgejo.manifest_digest(ORG, IMAGE_NAME, head)
    except ForgejoError as exc:
        if exc.status != 404:
            raise
    tag = forgejo.latest_container_tag(ORG, IMAGE_NAME)
    if tag is None:
        raise StepFailedError(
            "the deploy agent is not running and the registry has no image yet, so there is "
            f"nothing to deploy. Check the agent ({AGENT_LOGS}; kubectl -n "
            f"{names.NAMESPACE_DEPLOY} get pods), then rerun `invoke bootstrap --from deliver`."
        )
    return tag, forgejo.manifest_digest(ORG, IMAGE_NAME, tag)


class DeliverStep:
    name = "deliver"
    title = "first delivery (the deploy agent, or a direct apply while it is not running)"

    def check(self, ctx: StepContext, *, deep: bool) -> Check:
        return apps_rolled_out(ctx)

    def apply(self, ctx: StepContext) -> str:
        head = ctx.clients.git.head()
        with ctx.forgejo() as forgejo:
            if agent_running(ctx):
                return self._by_agent(ctx, forgejo, head)
            ctx.reporter.warn(f"the deploy agent is not running ({AGENT}); deploying directly")
            return self._direct_apply(ctx, forgejo)

    @staticmethod
    def _by_agent(ctx: StepContext, forgejo: ForgejoClient, head: str) -> str:
        ctx.reporter.detail(f"following the deploy agent: {AGENT_LOGS} -f")
        try:
            digest = ctx.wait(
                f"the deploy agent to build and deploy {head[:12]}",
                lambda: delivered(ctx, forgejo, head),
                ctx.options.timeouts.workflow_s,
            )
        except WaitTimeoutError as exc:
            raise StepFailedError(
                f"{exc}. The agent tries each commit on main once: see what it did with "
                f"`{AGENT_LOGS}`; a fixed commit pushed to main is picked up by itself."
            ) from None
        return f"delivered by the deploy agent: {head[:12]} as {digest[:19]}"

    def _direct_apply(self, ctx: StepContext, forgejo: ForgejoClient) -> str:
        tag, digest = _image_to_apply(forgejo, ctx.clients.git.head())
        image = f"{names.IMAGE_REPOSITORY}@{digest}"
        ctx.reporter.detail(f"direct apply of {image} (tag {tag})")
        ctx.clients.deployer.deploy(
            image, ctx.options.overlay, ctx.kubeconfig_path(), ctx.options.timeouts.rollout_s
        )
        return (
            f"direct apply of {IMAGE_NAME}:{tag[:12]} ({digest[:19]}); "
            "the deploy agent was not running"
        )
