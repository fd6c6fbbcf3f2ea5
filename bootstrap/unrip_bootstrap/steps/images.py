"""Pin every tag-only platform image to its digest on first contact (like the SSH host key).

The images are the cluster stack's effective settings (settings.py, overridden by the stack
file's `unrip-cluster:settings`). A tag seen for the first time is resolved at its registry
and recorded in `.state/<stack>/image-digests.json`; a rerun reuses the record, so nothing
drifts when a tag is re-pushed upstream; a changed tag in the settings is a new reference and
is resolved anew; `--repin-images` resolves them all again and prints old -> new. Images that
carry a digest in the settings are left alone. The cluster step passes the pins to the stack;
a workstation without the state file (a new one, after a disaster) adopts the pins the stack
already holds instead of resolving the tags again, so the cluster keeps running what it ran.
"""

from __future__ import annotations

import json

from unrip_platform.cluster.image_pins import DIGEST, IMAGE_DIGESTS_KEY, tag_only_images
from unrip_platform.cluster.settings import ClusterSettings, Images

from unrip_bootstrap.context import CLUSTER, StepContext
from unrip_bootstrap.image_digests import ImageDigests
from unrip_bootstrap.steps.base import Check

SETTINGS_KEY = "unrip-cluster:settings"
STACK_PINS_KEY = f"unrip-cluster:{IMAGE_DIGESTS_KEY}"


def _stack_config(ctx: StepContext, key: str) -> object:
    stack = ctx.stack(CLUSTER)
    entry = stack.get_config().get(key) if stack.exists() else None
    return json.loads(entry.value) if entry is not None else {}


def cluster_images(ctx: StepContext) -> Images:
    """The images the cluster stack would deploy, with the operator's overrides."""
    return ClusterSettings.model_validate(_stack_config(ctx, SETTINGS_KEY)).images


def deployed_pins(ctx: StepContext) -> dict[str, str]:
    """The pins the cluster stack already holds (a workstation without `.state/` adopts them)."""
    pins = _stack_config(ctx, STACK_PINS_KEY)
    if not isinstance(pins, dict):
        return {}
    return {str(ref): str(digest) for ref, digest in pins.items() if DIGEST.match(str(digest))}


def digests(ctx: StepContext) -> ImageDigests:
    return ImageDigests(ctx.options.state_paths.image_digests)


def unpinned(ctx: StepContext) -> list[str]:
    """Tag-only images with no pinned digest yet."""
    pins = digests(ctx).load()
    return sorted({ref for ref in tag_only_images(cluster_images(ctx)).values()} - set(pins))


def pins_for_stack(ctx: StepContext) -> dict[str, str]:
    """The pins of the images the stack deploys now (stale tags' pins stay in the state only)."""
    pins = digests(ctx).load()
    wanted = tag_only_images(cluster_images(ctx)).values()
    return {ref: pins[ref] for ref in sorted(wanted) if ref in pins}


class ImagesStep:
    name = "images"
    title = "pin platform images by digest (resolved on first contact)"

    def _to_resolve(self, ctx: StepContext) -> list[str]:
        if ctx.options.repin_images:
            return sorted(set(tag_only_images(cluster_images(ctx)).values()))
        return unpinned(ctx)

    def check(self, ctx: StepContext, *, deep: bool) -> Check:
        images = cluster_images(ctx)
        tagged = tag_only_images(images)
        todo = self._to_resolve(ctx)
        if todo:
            if ctx.options.repin_images:
                changes = tuple(f"re-resolve (--repin-images) {ref}" for ref in todo)
            else:
                adopt = deployed_pins(ctx)
                changes = tuple(
                    f"adopt the cluster stack's digest of {ref}"
                    if ref in adopt
                    else f"resolve {ref}"
                    for ref in todo
                )
            return Check.pending(
                f"{len(todo)} of {len(tagged)} tag-only image(s) not pinned here yet", changes
            )
        carried = len(images.model_dump()) - len(tagged)
        return Check.converged(
            f"{len(tagged)} image(s) pinned on first contact, {carried} by digest in the settings"
        )

    def apply(self, ctx: StepContext) -> str:
        store = digests(ctx)
        before = store.load()
        changed = adopted = 0
        todo = self._to_resolve(ctx)
        # What the cluster already runs is the pin, unless the operator asked to repin.
        deployed = {} if ctx.options.repin_images else deployed_pins(ctx)
        for reference in todo:
            if reference in deployed:
                digest, adopted = deployed[reference], adopted + 1
            else:
                digest = ctx.clients.registry.digest(reference)
            store.record(reference, digest)  # kept even if a later image fails
            old = before.get(reference)
            if ctx.options.repin_images:
                note = "unchanged" if old == digest else f"{old or 'not pinned'} -> {digest}"
                ctx.reporter.detail(f"{reference}: {note}")
            changed += old is not None and old != digest
        if ctx.options.repin_images:
            return f"re-resolved {len(todo)} image(s): {changed} digest(s) changed"
        note = f" ({adopted} adopted from the cluster stack's config)" if adopted else ""
        return f"pinned {len(todo)} image(s) by digest{note}: " + ", ".join(todo)
