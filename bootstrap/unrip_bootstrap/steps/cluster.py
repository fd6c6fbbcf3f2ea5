"""The cluster stack (`platform/cluster`): Redpanda, topics, Forgejo, the runner, the deployer.

Its `image_digests` config is the images step's pins: the program deploys every image by digest.

Its kubeconfig config value is the *path* of the bootstrap's kubeconfig, not the document: the
Automation API passes config values to the CLI as arguments, and the cluster-admin key does
not belong in a process list. The program reads the file (`kubeconfig_content`).
"""

from __future__ import annotations

import json

from unrip_platform.cluster.image_pins import IMAGE_DIGESTS_KEY

from unrip_bootstrap.clients.pulumi_stacks import ConfigEntry, StackDriver
from unrip_bootstrap.context import CLUSTER, StepContext
from unrip_bootstrap.steps.base import BlockedError
from unrip_bootstrap.steps.images import pins_for_stack, unpinned
from unrip_bootstrap.steps.pulumi_step import PulumiStackStep

KUBECONFIG_KEY = "unrip-cluster:kubeconfig"
DIGESTS_KEY = f"unrip-cluster:{IMAGE_DIGESTS_KEY}"


class ClusterStep(PulumiStackStep):
    name = "cluster"
    title = "cluster stack up (Redpanda, topics, Forgejo, runner, deployer)"
    project = CLUSTER

    def desired_config(self, ctx: StepContext) -> dict[str, ConfigEntry]:
        return {
            KUBECONFIG_KEY: ConfigEntry(str(ctx.kubeconfig_path()), secret=True),
            DIGESTS_KEY: ConfigEntry(json.dumps(pins_for_stack(ctx), sort_keys=True)),
        }

    def ready_to_run(self, ctx: StepContext) -> None:
        if not ctx.kubeconfig_path().is_file():
            raise BlockedError("no kubeconfig yet (the kubeconfig step writes it)")
        # The program would refuse them too; saying so here spares a failed `pulumi up`.
        if missing := unpinned(ctx):
            raise BlockedError(
                f"no pinned digest for {', '.join(missing)} (the images step pins them: "
                "`invoke bootstrap --from images`)"
            )

    def after_up(self, ctx: StepContext, stack: StackDriver) -> None:
        ctx.secret(str(ctx.cluster_output("forgejo_admin_password")))
