"""The example stack file documents the real settings, and settings reject typos."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError
from unrip_platform.cluster.settings import ClusterSettings

pytestmark = pytest.mark.platform

PROJECT = Path(__file__).resolve().parents[3] / "platform" / "cluster"


def test_example_stack_documents_every_setting_with_its_default() -> None:
    config = yaml.safe_load((PROJECT / "Pulumi.example.yaml").read_text())["config"]
    assert set(config) == {"unrip-cluster:settings"}  # the kubeconfig is set as a secret
    example = ClusterSettings.model_validate(config["unrip-cluster:settings"])
    assert example == ClusterSettings()
    assert example.model_dump() == config["unrip-cluster:settings"]


def test_project_name_matches_the_config_namespace() -> None:
    project = yaml.safe_load((PROJECT / "Pulumi.yaml").read_text())
    assert project["name"] == "unrip-cluster"
    assert project["runtime"]["options"]["virtualenv"] == "../../.venv"


def test_a_misspelt_setting_is_rejected() -> None:
    with pytest.raises(ValidationError, match="replica"):
        ClusterSettings.model_validate({"redpanda": {"replica": 3}})
