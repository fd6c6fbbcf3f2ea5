"""The cluster project: the in-cluster platform on the k3s that the Hetzner project boots."""

import pulumi
import pulumi_kubernetes as k8s
from unrip_platform.cluster.components import ClusterPlatform, kubeconfig_content
from unrip_platform.cluster.settings import ClusterSettings

config = pulumi.Config()
settings = ClusterSettings.model_validate(config.get_object("settings") or {})
kubeconfig = config.require_secret("kubeconfig").apply(kubeconfig_content)
provider = k8s.Provider("k3s", kubeconfig=kubeconfig, enable_server_side_apply=True)
platform = ClusterPlatform("unrip", settings, opts=pulumi.ResourceOptions(providers=[provider]))
for output_name, value in platform.outputs.items():
    pulumi.export(output_name, value)
