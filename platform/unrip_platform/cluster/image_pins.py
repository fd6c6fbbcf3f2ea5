"""Platform images pulled by digest: references parsed, tag-only ones joined to their pins.

A tag is a name the publisher can move; a digest names exactly one manifest. settings.py says
which release each image is (`repo:tag`, or `repo:tag@sha256:…` where the digest was
established); the bootstrap resolves every tag-only image to its multi-arch index digest on
first contact and passes the pins as the stack's `image_digests` config, `{tag reference:
digest}`. The cluster program refuses to deploy any image it cannot name by digest.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from unrip_platform.cluster.settings import ClusterSettings, Images

# The cluster project's config key holding the pins (`unrip-cluster:image_digests`).
IMAGE_DIGESTS_KEY: Final = "image_digests"
DIGEST: Final = re.compile(r"^sha256:[0-9a-f]{64}$")
DOCKER_HUB: Final = "docker.io"


class UnpinnedImagesError(ValueError):
    """Images named by tag alone, with no pinned digest: deploying them could pull anything."""


@dataclass(frozen=True)
class ImageRef:
    """One image reference, normalised the way container runtimes read it."""

    registry: str
    repository: str
    tag: str | None
    digest: str | None

    @classmethod
    def parse(cls, reference: str) -> ImageRef:
        name, _, digest = reference.partition("@")
        if digest and not DIGEST.match(digest):
            raise ValueError(f"{reference}: the digest is not sha256:<64 hex digits>")
        tag: str | None = None
        last = name.rsplit("/", 1)[-1]
        if ":" in last:
            name, tag = name.rsplit(":", 1)
        first, _, rest = name.partition("/")
        if rest and ("." in first or ":" in first or first == "localhost"):
            registry, repository = first, rest
        else:
            registry, repository = DOCKER_HUB, name
        if registry == DOCKER_HUB and "/" not in repository:
            repository = f"library/{repository}"
        if not repository or (tag is None and not digest):
            raise ValueError(f"{reference}: an image needs a tag or a digest")
        return cls(registry, repository, tag, digest or None)


def has_digest(reference: str) -> bool:
    return ImageRef.parse(reference).digest is not None


def tag_only_images(images: Images) -> dict[str, str]:
    """Setting name -> reference, of every image that does not carry its digest yet."""
    return {
        field: reference
        for field, reference in images.model_dump().items()
        if not has_digest(reference)
    }


def pin_images(images: Images, pins: Mapping[str, str]) -> Images:
    """`images` with each tag-only reference given its pinned digest (`tag@sha256:…`)."""
    unpinned = tag_only_images(images)
    pinned = {field: ref for field, ref in unpinned.items() if DIGEST.match(pins.get(ref, ""))}
    missing = {field: ref for field, ref in unpinned.items() if field not in pinned}
    if missing:
        listed = ", ".join(f"images.{field} ({ref})" for field, ref in sorted(missing.items()))
        raise UnpinnedImagesError(
            f"no digest for {listed}: run `invoke bootstrap` (it pins tag-only images on first "
            "contact) or write tag@sha256:… in the settings"
        )
    return images.model_copy(update={field: f"{ref}@{pins[ref]}" for field, ref in pinned.items()})


def program_settings(raw_settings: Any, raw_pins: Any) -> ClusterSettings:
    """The settings `pulumi up` deploys: validated, every image pulled by digest, or refused."""
    settings = ClusterSettings.model_validate(raw_settings or {})
    pins = raw_pins or {}
    if not isinstance(pins, Mapping):
        raise UnpinnedImagesError(f"{IMAGE_DIGESTS_KEY} is not a mapping of image -> digest")
    return settings.model_copy(update={"images": pin_images(settings.images, pins)})
