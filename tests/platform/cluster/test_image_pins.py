"""Every platform image is pulled by digest once pinned; a tag-only image is never deployed."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import runpy
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pulumi
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


# --- the program as `pulumi up` runs it (platform/cluster/__main__.py, engine mocked) ----------

PROGRAM = Path(__file__).resolve().parents[3] / "platform" / "cluster" / "__main__.py"
KUBECONFIG = "apiVersion: v1\nkind: Config\nclusters: []\n"


class Recording(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.inputs: dict[str, dict[str, Any]] = {}

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.inputs[args.name] = dict(args.inputs)
        outputs = dict(args.inputs)
        if args.typ == "random:index/randomPassword:RandomPassword":
            outputs["result"] = "p" * int(args.inputs["length"])
        if args.typ == "random:index/randomBytes:RandomBytes":
            raw = bytes(range(int(args.inputs["length"])))
            outputs.update(base64=base64.b64encode(raw).decode(), hex=raw.hex())
        return f"{args.name}-id", outputs

    def call(
        self, args: pulumi.runtime.MockCallArgs
    ) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        return {}, None


def run_program(config: dict[str, str], engine: Recording | None = None) -> Recording:
    engine = engine or Recording()
    pulumi.runtime.set_mocks(engine, project="unrip-cluster", stack="test", preview=False)
    pulumi.runtime.set_all_config({"unrip-cluster:kubeconfig": KUBECONFIG, **config})
    run = cast(Callable[[Callable[[], Any]], Callable[[], None]], pulumi.runtime.test)
    run(lambda: runpy.run_path(str(PROGRAM)) and None)()
    return engine


def test_pulumi_up_refuses_tag_only_images_before_creating_anything() -> None:
    engine = Recording()

    with pytest.raises(UnpinnedImagesError, match=r"images\.redpanda \(docker\.redpanda\.com/"):
        run_program({}, engine)

    assert engine.inputs == {}


def test_pulumi_up_with_the_bootstraps_pins_deploys_every_container_by_digest() -> None:
    pins = json.dumps(pins_for(Images()))

    engine = run_program({"unrip-cluster:image_digests": pins})

    workloads = [
        inputs for inputs in engine.inputs.values() if "template" in inputs.get("spec", {})
    ]
    images = [
        container["image"]
        for workload in workloads
        for kind in ("initContainers", "containers")
        for container in workload["spec"]["template"]["spec"].get(kind, [])
    ]
    assert len(images) > 10
    assert [image for image in images if not BY_DIGEST.search(image)] == []
