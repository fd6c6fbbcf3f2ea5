"""Every platform image is pulled by digest once pinned; a tag-only image is never deployed."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import pytest
from unrip_platform.cluster.image_pins import (
    ImageRef,
    UnpinnedImagesError,
    pin_images,
    program_settings,
    tag_only_images,
)
from unrip_platform.cluster.render import render_manifests
from unrip_platform.cluster.settings import Images

from tests.platform.cluster.test_cluster_manifests import containers

pytestmark = pytest.mark.platform

BY_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def fake_digest(reference: str) -> str:
    return "sha256:" + hashlib.sha256(reference.encode()).hexdigest()


def pins_for(images: Images) -> dict[str, str]:
    return {ref: fake_digest(ref) for ref in tag_only_images(images).values()}


def test_every_container_of_the_platform_runs_an_image_by_digest_once_pinned() -> None:
    settings = program_settings({}, pins_for(Images()))

    rendered: list[dict[str, Any]] = render_manifests(settings)
    images = {(workload, name): c["image"] for workload, name, c, _ in containers(rendered)}

    assert len(images) > 10
    assert {key: image for key, image in images.items() if not BY_DIGEST.search(image)} == {}


def test_a_pinned_image_keeps_its_tag_in_front_of_the_digest() -> None:
    redpanda = Images().redpanda

    pinned = program_settings({}, pins_for(Images())).images.redpanda

    assert pinned == f"{redpanda}@{fake_digest(redpanda)}"


def test_the_program_refuses_a_tag_only_image_without_a_pin_naming_setting_and_image() -> None:
    pins = pins_for(Images())
    del pins[Images().job]

    with pytest.raises(UnpinnedImagesError) as refused:
        program_settings({}, pins)

    message = str(refused.value)
    assert f"images.job ({Images().job})" in message
    assert "invoke bootstrap" in message
    assert "redpanda" not in message


def test_a_changed_tag_in_the_settings_needs_its_own_pin() -> None:
    pins = pins_for(Images())

    with pytest.raises(UnpinnedImagesError, match=r"images\.redpanda"):
        program_settings({"images": {"redpanda": "docker.redpanda.com/x/redpanda:v99"}}, pins)


def test_images_that_carry_a_digest_in_the_settings_are_left_alone() -> None:
    images = Images()
    carried = {images.prometheus, images.grafana, images.kube_state_metrics}

    pinned = pin_images(images, pins_for(images))

    assert carried <= set(pinned.model_dump().values())
    assert not {field for field in tag_only_images(images)} & {"prometheus", "grafana"}


def test_a_malformed_pin_counts_as_no_pin() -> None:
    pins = {**pins_for(Images()), Images().socat: "sha256:short"}

    with pytest.raises(UnpinnedImagesError, match=r"images\.socat"):
        program_settings({}, pins)


@pytest.mark.parametrize(
    ("reference", "registry", "repository", "tag"),
    [
        ("python:3.11.13-bookworm", "docker.io", "library/python", "3.11.13-bookworm"),
        ("moby/buildkit:v0.25.2-rootless", "docker.io", "moby/buildkit", "v0.25.2-rootless"),
        ("docker.io/grafana/grafana:12.1.1", "docker.io", "grafana/grafana", "12.1.1"),
        ("localhost:5000/a/b:1", "localhost:5000", "a/b", "1"),
        (
            "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.15.0",
            "registry.k8s.io",
            "kube-state-metrics/kube-state-metrics",
            "v2.15.0",
        ),
    ],
)
def test_references_are_read_the_way_container_runtimes_read_them(
    reference: str, registry: str, repository: str, tag: str
) -> None:
    assert ImageRef.parse(reference) == ImageRef(registry, repository, tag, None)
