"""The bootstrap's steps (one module each); their order is `unrip_bootstrap.pipeline.all_steps`."""
