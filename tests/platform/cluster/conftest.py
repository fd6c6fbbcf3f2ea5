"""Shared fixtures: the rendered manifests, and one checkov scan per session (the slow part)."""

from __future__ import annotations

from typing import Any

import pytest
from unrip_platform.cluster.render import POLICY_EXCEPTIONS, render_manifests
from unrip_platform.cluster.settings import ClusterSettings
from unrip_platform.validation import (
    PolicyReport,
    ensure_checkov,
    load_exceptions,
    scan_manifests,
)


@pytest.fixture(scope="session")
def settings() -> ClusterSettings:
    return ClusterSettings()


@pytest.fixture(scope="session")
def manifests(settings: ClusterSettings) -> list[dict[str, Any]]:
    return render_manifests(settings)


@pytest.fixture(scope="session")
def policy_report(
    manifests: list[dict[str, Any]], tmp_path_factory: pytest.TempPathFactory
) -> PolicyReport:
    checkov = ensure_checkov()
    directory = tmp_path_factory.mktemp("rendered")
    return scan_manifests(manifests, directory, load_exceptions(POLICY_EXCEPTIONS), checkov=checkov)
