"""The cluster project: the in-cluster platform on the k3s that the Hetzner project boots."""

import pulumi
import pulumi_kubernetes as k8s
from unrip_platform.cluster.components import ClusterPlatform, kubeconfig_content
from unrip_platform.cluster.image_pins import IMAGE_DIGESTS_KEY, program_settings

config = pulumi.Config()
# Every image by digest: tag-only images need the pins the bootstrap resolved (image_pins.py).
settings = program_settings(config.get_object("settings"), config.get_object(IMAGE_DIGESTS_KEY))
kubeconfig = config.require_secret("kubeconfig").apply(kubeconfig_content)
provider = k8s.Provider("k3s", kubeconfig=kubeconfig, enable_server_side_apply=True)
platform = ClusterPlatform("unrip", settings, opts=pulumi.ResourceOptions(providers=[provider]))
for output_name, value in platform.outputs.items():
    pulumi.export(output_name, value)
