"""The rendered overlays (as a deploy renders them) and one checkov scan per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from unrip_platform.delivery import checks
from unrip_platform.validation import PolicyReport, ensure_checkov

Manifest = dict[str, Any]


@pytest.fixture(scope="session")
def rendered() -> dict[str, list[Manifest]]:
    return {name: checks.render_overlay(name) for name in checks.overlay_names()}


@pytest.fixture(scope="session")
def policy_report(
    rendered: dict[str, list[Manifest]], tmp_path_factory: pytest.TempPathFactory
) -> PolicyReport:
    return checks.policy_scan(
        rendered, tmp_path_factory.mktemp("delivery-scan"), checkov=ensure_checkov()
    )


def workloads(manifests: list[Manifest], namespace: str | None = None) -> Iterator[Manifest]:
    for manifest in manifests:
        if manifest["kind"] in ("Deployment", "StatefulSet") and (
            namespace is None or manifest["metadata"]["namespace"] == namespace
        ):
            yield manifest


def pod_spec(workload: Manifest) -> dict[str, Any]:
    spec: dict[str, Any] = workload["spec"]["template"]["spec"]
    return spec


def containers(workload: Manifest, *, init: bool = True) -> list[dict[str, Any]]:
    spec = pod_spec(workload)
    return [*(spec.get("initContainers", []) if init else []), *spec["containers"]]


def by_name(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    matches = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name]
    assert len(matches) == 1, (kind, name, len(matches))
    return matches[0]


def env(container: dict[str, Any]) -> dict[str, Any]:
    """Name -> value (a string) or valueFrom (a dict)."""
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container.get("env", [])}


@pytest.fixture
def repo_root() -> Path:
    return checks.ROOT
