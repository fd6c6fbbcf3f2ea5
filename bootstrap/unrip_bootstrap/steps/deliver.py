"""The first delivery: the pushed commit's workflow deploys it, or, while no runner is online,
a direct apply of the newest image in Forgejo's registry with the delivery's deploy script.

A direct apply needs an image: on the very first bootstrap there is none until the workflow
has built one, so without a runner this step fails and says what to check.
"""

from __future__ import annotations

from typing import Any, Final

from unrip_platform import names

from unrip_bootstrap.clients.forgejo import ForgejoClient, ForgejoError
from unrip_bootstrap.clock import NotReadyError, WaitTimeoutError
from unrip_bootstrap.context import StepContext
from unrip_bootstrap.steps.base import Check, StepFailedError
from unrip_bootstrap.steps.forgejo_setup import runner_online
from unrip_bootstrap.steps.workloads import workloads

ORG, REPO = names.FORGEJO_ORG, names.FORGEJO_REPO
IMAGE_NAME: Final = names.IMAGE_REPOSITORY.rsplit("/", 1)[1]
TERMINAL: Final = frozenset({"success", "failure", "cancelled", "skipped"})


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


def latest_run(forgejo: ForgejoClient, head: str) -> dict[str, Any]:
    runs = forgejo.list_runs(ORG, REPO, head)
    if not runs:
        raise NotReadyError(f"no workflow run for {head[:12]} yet")
    return runs[0]


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
            "no runner is online and the registry has no image yet, so there is nothing to "
            f"deploy. Check the runner (kubectl -n {names.NAMESPACE_PLATFORM} get pods; its "
            "logs), then rerun `invoke bootstrap --from deliver`."
        )
    return tag, forgejo.manifest_digest(ORG, IMAGE_NAME, tag)


class DeliverStep:
    name = "deliver"
    title = "first delivery (the workflow, or a direct apply while no runner is online)"

    def check(self, ctx: StepContext, *, deep: bool) -> Check:
        return apps_rolled_out(ctx)

    def apply(self, ctx: StepContext) -> str:
        head = ctx.clients.git.head()
        with ctx.forgejo() as forgejo:
            if runner_online(forgejo.list_runners()):
                summary = self._by_workflow(ctx, forgejo, head)
                if summary is not None:
                    return summary
            return self._direct_apply(ctx, forgejo)

    def _by_workflow(self, ctx: StepContext, forgejo: ForgejoClient, head: str) -> str | None:
        timeouts = ctx.options.timeouts
        try:
            run = ctx.wait(
                f"the workflow run of {head[:12]}",
                lambda: latest_run(forgejo, head),
                timeouts.run_appears_s,
            )
        except WaitTimeoutError as exc:
            ctx.reporter.warn(f"{exc}; deploying directly instead")
            return None

        def finished() -> dict[str, Any]:
            current = latest_run(forgejo, head)
            if current.get("status") not in TERMINAL:
                raise NotReadyError(
                    f"run #{current.get('index_in_repo')} is {current.get('status')}"
                )
            return current

        ctx.reporter.detail(f"following workflow run {run.get('html_url', '')}")
        final = ctx.wait("the workflow run", finished, timeouts.workflow_s)
        if final.get("status") != "success":
            raise StepFailedError(
                f"workflow run #{final.get('index_in_repo')} ended {final.get('status')}: "
                f"{final.get('html_url', '')}"
            )
        wait_for_rollouts(ctx)
        return f"delivered by workflow run #{final.get('index_in_repo')} of {head[:12]}"

    def _direct_apply(self, ctx: StepContext, forgejo: ForgejoClient) -> str:
        tag, digest = _image_to_apply(forgejo, ctx.clients.git.head())
        image = f"{names.IMAGE_REPOSITORY}@{digest}"
        ctx.reporter.detail(f"direct apply of {image} (tag {tag})")
        ctx.clients.deployer.deploy(
            image, ctx.options.overlay, ctx.kubeconfig_path(), ctx.options.timeouts.rollout_s
        )
        return f"direct apply of {IMAGE_NAME}:{tag[:12]} ({digest[:19]}); no runner was online"
