"""The Pulumi project as an operator runs it: Pulumi.yaml, the example stack, __main__.py."""

from __future__ import annotations

import json
import runpy
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from unrip_platform.hetzner import (
    PROJECT,
    ConfigError,
    HetznerSettings,
    HetznerStackOutputs,
    load_settings,
    settings_from_config,
)
from unrip_platform.hetzner.config import config_key
from unrip_platform.hetzner.outputs import output_name

from tests.platform.hetzner.pulumi_doubles import FakeEngine

pytestmark = pytest.mark.platform

REPO = Path(__file__).resolve().parents[3]
PROJECT_DIR = REPO / "platform" / "hetzner"
EXAMPLE_STACK = PROJECT_DIR / "Pulumi.example.yaml"


def example_config() -> dict[str, Any]:
    """The example stack's values, as the Pulumi CLI hands them to the program."""
    config = yaml.safe_load(EXAMPLE_STACK.read_text(encoding="utf-8"))["config"]
    as_engine_strings = {}
    for key, value in config.items():
        if isinstance(value, list | dict):
            as_engine_strings[key] = json.dumps(value)
        elif isinstance(value, bool):
            as_engine_strings[key] = "true" if value else "false"
        else:
            as_engine_strings[key] = str(value)
    return as_engine_strings


def run_main(engine: FakeEngine, config: dict[str, Any]) -> dict[str, Any]:
    pulumi.runtime.set_all_config(config)
    return engine.run(lambda: runpy.run_path(str(PROJECT_DIR / "__main__.py")) and None).outputs


def test_project_file_runs_python_from_the_repository_venv() -> None:
    project = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text(encoding="utf-8"))

    assert project["name"] == PROJECT
    assert project["runtime"]["name"] == "python"
    virtualenv = project["runtime"]["options"]["virtualenv"]
    assert not Path(virtualenv).is_absolute()
    assert (PROJECT_DIR / virtualenv).resolve() == REPO / ".venv"
    assert not (REPO / "platform" / "__init__.py").exists(), "platform/ must not be a package"


def test_example_stack_documents_and_sets_every_setting() -> None:
    lines = EXAMPLE_STACK.read_text(encoding="utf-8").splitlines()
    documented = {}
    for number, line in enumerate(lines):
        stripped = line.strip().removeprefix("# ")
        if stripped.startswith(f"{PROJECT}:"):
            key = stripped.split(":")[1]
            previous = next(p.strip() for p in reversed(lines[:number]) if p.strip())
            documented[key] = previous.startswith("#")

    every_setting = {config_key(name) for name in HetznerSettings.model_fields}
    assert set(documented) == every_setting
    assert all(documented.values()), [k for k, has_comment in documented.items() if not has_comment]


def test_example_stack_is_valid_config() -> None:
    raw = {k.removeprefix(f"{PROJECT}:"): v for k, v in example_config().items()}

    settings = settings_from_config(raw, stack="example")

    assert settings.name_prefix == "unrip-example"
    assert settings.node_count == 1


def test_main_builds_the_cluster_and_exports_every_output(engine: FakeEngine) -> None:
    outputs = run_main(engine, example_config())

    parsed = HetznerStackOutputs.from_outputs(outputs)
    assert parsed.server_name == "unrip-example-node-0"
    assert parsed.kube_api_endpoint == f"https://{parsed.server_ipv4}:6443"
    expected = {output_name(name) for name in HetznerStackOutputs.__dataclass_fields__}
    assert set(outputs) == expected


def test_settings_come_from_the_engines_config_environment(
    engine: FakeEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = {**example_config(), f"{PROJECT}:nodeCont": "2", "hcloud:token": "not-ours"}
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(config))

    with pytest.raises(ConfigError) as raised:
        load_settings()

    assert "unrip-hetzner:nodeCont: unknown setting" in str(raised.value)
    assert "hcloud" not in str(raised.value)
    del config[f"{PROJECT}:nodeCont"]
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(config))
    assert load_settings().name_prefix == "unrip-example"


def test_main_stops_on_bad_config_before_creating_anything(engine: FakeEngine) -> None:
    config = example_config()
    config[f"{PROJECT}:operatorCidrs"] = json.dumps(["0.0.0.0/0"])

    with pytest.raises(ConfigError, match=r"unrip-hetzner.*allowOpenAdminAccess"):
        run_main(engine, config)
    assert engine.monitor.registrations == []
