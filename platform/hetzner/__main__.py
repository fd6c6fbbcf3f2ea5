"""unrip on Hetzner Cloud: the stack's config in, the K3sCluster component, its outputs out."""

from unrip_platform.hetzner import K3sCluster, export_stack_outputs, load_settings

export_stack_outputs(K3sCluster("unrip", load_settings()))
