"""The digest resolver against a real HTTP server speaking the OCI distribution protocol."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from unrip_bootstrap.clients.registry import ATTEMPTS, RegistryClient, RegistryError
from unrip_platform.cluster.image_pins import tag_only_images
from unrip_platform.cluster.settings import Images

from tests.bootstrap.world.registry import FakeRegistry, serve

REDPANDA = Images().redpanda
PYTHON = Images().job


@pytest.fixture
def registry() -> FakeRegistry:
    return FakeRegistry.with_platform_images()


@pytest.fixture
def client(registry: FakeRegistry) -> Iterator[RegistryClient]:
    with serve(registry) as url:
        endpoints = {image.split("/")[0]: url for image in tag_only_images(Images()).values()}
        endpoints["docker.io"] = url
        with RegistryClient(endpoints=endpoints) as resolver:
            yield resolver


def test_a_tag_resolves_to_its_multi_arch_index_digest_through_the_token_flow(
    client: RegistryClient, registry: FakeRegistry
) -> None:
    digest = client.digest(REDPANDA)

    assert digest == registry.digest(REDPANDA)
    paths = [path.split("/", 1)[1] for _, path in registry.requests]
    repository = "v2/redpandadata/redpanda/manifests/v25.2.11"
    assert paths == [repository, "token", repository]
    assert [method for method, _ in registry.requests] == ["HEAD", "GET", "HEAD"]


def test_docker_hub_official_images_are_asked_for_under_library(
    client: RegistryClient, registry: FakeRegistry
) -> None:
    assert client.digest(PYTHON) == registry.digest(PYTHON)
    assert registry.requests[0][1].endswith("/v2/library/python/manifests/3.11.13-bookworm")


def test_every_tag_only_platform_image_resolves(
    client: RegistryClient, registry: FakeRegistry
) -> None:
    for reference in tag_only_images(Images()).values():
        assert client.digest(reference) == registry.digest(reference)


def test_without_a_digest_header_the_manifest_is_fetched_and_hashed(
    client: RegistryClient, registry: FakeRegistry
) -> None:
    registry.send_digest_header = False

    assert client.digest(REDPANDA) == registry.digest(REDPANDA)
    assert registry.requests[-1][0] == "GET"


def test_a_re_pushed_tag_resolves_to_the_new_digest(
    client: RegistryClient, registry: FakeRegistry
) -> None:
    before = client.digest(REDPANDA)
    after = registry.publish(REDPANDA, build=2)

    assert client.digest(REDPANDA) == after != before


def test_an_unknown_tag_is_a_one_line_error_naming_image_and_registry(
    client: RegistryClient,
) -> None:
    with pytest.raises(RegistryError) as failed:
        client.digest("docker.redpanda.com/redpandadata/redpanda:v0.0.0-missing")

    message = str(failed.value)
    assert "\n" not in message
    assert "docker.redpanda.com/redpandadata/redpanda:v0.0.0-missing" in message
    assert "at docker.redpanda.com" in message
    assert "404" in message


def test_an_unavailable_registry_is_retried_then_named_in_the_error(
    client: RegistryClient, registry: FakeRegistry
) -> None:
    registry.down.add("redpandadata/redpanda")

    with pytest.raises(
        RegistryError, match=r"redpanda:v25\.2\.11 at docker\.redpanda\.com: HTTP 503"
    ):
        client.digest(REDPANDA)

    manifest_requests = [path for _, path in registry.requests if "/manifests/" in path]
    assert len(manifest_requests) == ATTEMPTS


def test_a_registry_that_recovers_during_the_retries_still_answers(
    client: RegistryClient, registry: FakeRegistry
) -> None:
    registry.hiccups = ATTEMPTS - 1

    assert client.digest(REDPANDA) == registry.digest(REDPANDA)


def test_an_unreachable_registry_is_named_in_the_error() -> None:
    endpoints = {"codeberg.org": "http://127.0.0.1:9"}
    with (
        RegistryClient(endpoints=endpoints) as client,
        pytest.raises(RegistryError, match=r"at codeberg\.org: unreachable"),
    ):
        client.digest(Images().forgejo)
