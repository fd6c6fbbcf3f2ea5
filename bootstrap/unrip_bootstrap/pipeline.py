"""The bootstrap's steps, in order. Each checks the live state and converges only what is not."""

from __future__ import annotations

from unrip_bootstrap.steps.app_secrets import AppSecretsStep
from unrip_bootstrap.steps.base import Step
from unrip_bootstrap.steps.cluster import ClusterStep
from unrip_bootstrap.steps.deliver import DeliverStep
from unrip_bootstrap.steps.forgejo_setup import ForgejoStep
from unrip_bootstrap.steps.hetzner import HetznerStep
from unrip_bootstrap.steps.images import ImagesStep
from unrip_bootstrap.steps.kubeconfig_step import KubeconfigStep
from unrip_bootstrap.steps.node import NodeStep
from unrip_bootstrap.steps.preflight import Preflight
from unrip_bootstrap.steps.push import PushStep
from unrip_bootstrap.steps.verify import VerifyStep


def all_steps() -> list[Step]:
    return [
        Preflight(),
        HetznerStep(),
        NodeStep(),
        KubeconfigStep(),
        ImagesStep(),
        ClusterStep(),
        AppSecretsStep(),
        ForgejoStep(),
        PushStep(),
        DeliverStep(),
        VerifyStep(),
    ]
