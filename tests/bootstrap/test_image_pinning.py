"""Platform images pinned on first contact: once, reused on reruns, repinned only on request."""

from __future__ import annotations

import json
import re

from unrip_bootstrap.clients.pulumi_stacks import ConfigEntry
from unrip_platform.cluster.image_pins import tag_only_images
from unrip_platform.cluster.settings import Images

from tests.bootstrap.conftest import Workstation
from tests.bootstrap.test_bootstrap_runs import outcomes

TAGGED = tag_only_images(Images())
REDPANDA = Images().redpanda
BY_DIGEST = re.compile(r"@sha256:[0-9a-f]{64}$")


def pinned(station: Workstation) -> dict[str, str]:
    data: dict[str, dict[str, str]] = json.loads(
        station.options.state_paths.image_digests.read_text()
    )
    return data["images"]


def deployed(station: Workstation) -> dict[str, str]:
    images = station.world.deployed_images
    assert images is not None, "the cluster program never ran"
    return images.model_dump()


def test_the_first_run_pins_every_tag_only_image_and_deploys_them_by_digest(
    station: Workstation,
) -> None:
    assert station.bootstrap() == 0, station.printed()

    registry = station.world.registry
    assert pinned(station) == {ref: registry.digest(ref) for ref in TAGGED.values()}
    assert all(BY_DIGEST.search(image) for image in deployed(station).values())
    assert deployed(station)["redpanda"] == f"{REDPANDA}@{registry.digest(REDPANDA)}"
    assert deployed(station)["prometheus"] == Images().prometheus  # carried its digest: untouched
    assert outcomes(station.printed())["images"] == "done"


def test_a_rerun_reuses_the_pins_even_when_a_tag_was_re_pushed_upstream(
    converged: Workstation,
) -> None:
    first = pinned(converged)
    world = converged.world
    world.registry.publish(REDPANDA, build=2)
    world.registry.requests.clear()

    assert converged.bootstrap() == 0

    assert pinned(converged) == first
    assert deployed(converged)["redpanda"] == f"{REDPANDA}@{first[REDPANDA]}"
    assert world.registry.requests == []
    assert outcomes(converged.printed())["images"] == "skipped"


def test_repin_images_resolves_again_prints_old_and_new_and_deploys_the_new_digest(
    converged: Workstation,
) -> None:
    old = pinned(converged)[REDPANDA]
    new = converged.world.registry.publish(REDPANDA, build=2)

    assert converged.bootstrap(repin_images=True) == 0

    printed = converged.printed()
    assert f"{REDPANDA}: {old} -> {new}" in printed
    assert f"{Images().job}: unchanged" in printed
    assert "1 digest(s) changed" in printed
    assert pinned(converged)[REDPANDA] == new
    assert deployed(converged)["redpanda"] == f"{REDPANDA}@{new}"


def test_a_changed_tag_in_the_settings_is_resolved_anew_and_only_it(
    converged: Workstation,
) -> None:
    newer = "docker.redpanda.com/redpandadata/redpanda:v25.2.12"
    world = converged.world
    digest = world.registry.publish(newer)
    world.registry.requests.clear()
    world.configs["cluster/prod"]["unrip-cluster:settings"] = ConfigEntry(
        json.dumps({"images": {"redpanda": newer}})
    )

    assert converged.bootstrap() == 0

    assert {path.split("/", 1)[1] for _, path in world.registry.requests} == {
        "v2/redpandadata/redpanda/manifests/v25.2.12",
        "token",
    }
    assert pinned(converged)[newer] == digest
    assert deployed(converged)["redpanda"] == f"{newer}@{digest}"


def test_an_unresolvable_image_fails_the_step_in_one_line_and_a_rerun_finishes_the_job(
    station: Workstation,
) -> None:
    world = station.world
    world.registry.down.add("library/python")

    assert station.bootstrap() == 1

    printed = station.printed()
    assert f"cannot resolve the digest of {Images().job} at docker.io: HTTP 503" in printed, printed
    assert "cluster.up" not in world.mutations  # nothing deployed with a tag
    kept = pinned(station)
    assert Images().job not in kept and kept  # what was resolved before the failure is kept

    world.registry.down.clear()
    world.registry.requests.clear()
    station.take_output()
    assert station.bootstrap() == 0, station.printed()

    assert pinned(station)[Images().job] == world.registry.digest(Images().job)
    asked = {path for _, path in world.registry.requests if "/manifests/" in path}
    assert asked == {"registry-1.docker.io/v2/library/python/manifests/3.11.13-bookworm"}


def test_a_plan_names_the_images_it_would_pin_and_contacts_no_registry(
    station: Workstation,
) -> None:
    assert station.bootstrap(plan=True) == 0

    printed = station.printed()
    assert f"resolve {REDPANDA}" in printed
    assert station.world.registry.requests == []
    assert not station.options.state_paths.image_digests.exists()


def test_the_cluster_step_refuses_to_run_with_an_unpinned_image(station: Workstation) -> None:
    station.world.arm("git.push")  # stop the first run after the cluster step
    assert station.bootstrap() == 1
    path = station.options.state_paths.image_digests
    path.write_text(json.dumps({"images": {}}))
    station.take_output()

    assert station.bootstrap(from_step="cluster") == 1

    printed = station.printed()
    assert "no pinned digest for" in printed and REDPANDA in printed
    assert "--from images" in printed


def test_a_workstation_without_the_state_file_adopts_the_stacks_pins_instead_of_re_resolving(
    converged: Workstation,
) -> None:
    first = pinned(converged)
    world = converged.world
    world.registry.publish(REDPANDA, build=2)  # the tag moved since the cluster was built
    world.registry.requests.clear()
    converged.options.state_paths.image_digests.unlink()

    assert converged.bootstrap() == 0, converged.printed()

    assert pinned(converged) == first
    assert world.registry.requests == []
    assert deployed(converged)["redpanda"] == f"{REDPANDA}@{first[REDPANDA]}"
    assert "adopted from the cluster stack's config" in converged.printed()
