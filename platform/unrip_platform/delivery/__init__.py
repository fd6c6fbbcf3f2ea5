"""Push-to-deploy: the offline checks of the image, manifests and workflows (issue 6)."""
