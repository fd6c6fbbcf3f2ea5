"""The Automation API stack client, through the real `pulumi.automation` with a recording
stand-in for the `pulumi` CLI: which commands the stack config becomes, secrets included."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from pulumi.automation.errors import CommandError
from unrip_bootstrap.clients.pulumi_stacks import (
    AutomationStack,
    ConfigEntry,
    PulumiCliMissingError,
    changes_in,
    describe_changes,
)

pytestmark = pytest.mark.platform

FAKE_CLI = Path(__file__).with_name("fake_pulumi_cli.py")
TOKEN = "HcloudTokenSentinel" + "B" * 45


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A Pulumi "installation" whose bin/pulumi is the recording stand-in."""
    root = tmp_path / "pulumi-root"
    (root / "bin").mkdir(parents=True)
    executable = root / "bin" / "pulumi"
    executable.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{FAKE_CLI}" "$@"\n')
    executable.chmod(0o755)
    monkeypatch.setenv("FAKE_PULUMI_STATE", str(tmp_path / "state.json"))
    monkeypatch.setenv("FAKE_PULUMI_LOG", str(tmp_path / "calls.jsonl"))
    return root


def calls(root: Path) -> list[dict[str, Any]]:
    log = root.parent / "calls.jsonl"
    return [json.loads(line) for line in log.read_text().splitlines()]


def stack(root: Path, tmp_path: Path) -> AutomationStack:
    project = tmp_path / "platform" / "hetzner"
    project.mkdir(parents=True, exist_ok=True)
    (project / "Pulumi.yaml").write_text("name: unrip-hetzner\nruntime: python\n")
    return AutomationStack(
        "unrip-hetzner",
        project,
        "prod",
        {"PULUMI_CONFIG_PASSPHRASE": "passphrase-Sentinel", "PULUMI_BACKEND_URL": "file:///b"},
        secrets_provider="passphrase",
        pulumi_root=str(root),
    )


def test_the_stack_is_created_with_the_passphrase_provider_when_missing(
    cli: Path, tmp_path: Path
) -> None:
    driver = stack(cli, tmp_path)

    assert driver.exists() is False
    driver.ensure()
    assert driver.exists() is True

    argvs = [call["argv"] for call in calls(cli)]
    assert ["stack", "select", "--stack", "prod"] in argvs
    assert ["stack", "init", "prod", "--secrets-provider", "passphrase"] in argvs
    run_from = {call["cwd"] for call in calls(cli) if call["argv"] != ["version"]}
    assert run_from == {str(tmp_path / "platform" / "hetzner")}


def test_config_secrets_reach_the_cli_on_stdin_never_on_its_command_line(
    cli: Path, tmp_path: Path
) -> None:
    driver = stack(cli, tmp_path)
    driver.ensure()

    driver.set_config(
        {
            "hcloud:token": ConfigEntry(TOKEN, secret=True),
            "unrip-hetzner:operatorCidrs": ConfigEntry('["198.51.100.7/32"]'),
        }
    )

    set_all = [call for call in calls(cli) if call["argv"][1:2] in (["set"], ["set-all"])]
    assert [call["argv"] for call in set_all] == [
        [
            "config", "set-all", "--stack", "prod",
            "--plaintext", 'unrip-hetzner:operatorCidrs=["198.51.100.7/32"]',
        ],
        ["config", "set", "--secret", "--stack", "prod", "hcloud:token"],
    ]  # fmt: skip
    assert not any(TOKEN in arg for call in calls(cli) for arg in call["argv"])
    # The passphrase reaches the CLI through its environment, never its arguments.
    assert all("PULUMI_CONFIG_PASSPHRASE" in call["env"] for call in set_all)
    assert not any("passphrase-Sentinel" in arg for call in calls(cli) for arg in call["argv"])
    assert driver.get_config() == {
        "hcloud:token": ConfigEntry(TOKEN, secret=True),
        "unrip-hetzner:operatorCidrs": ConfigEntry('["198.51.100.7/32"]'),
    }


def test_nothing_is_sent_when_no_config_changed(cli: Path, tmp_path: Path) -> None:
    driver = stack(cli, tmp_path)
    driver.ensure()
    before = len(calls(cli))
    driver.set_config({})
    assert len(calls(cli)) == before


def test_the_workspace_never_prints_its_environment(cli: Path, tmp_path: Path) -> None:
    driver = stack(cli, tmp_path)
    driver.ensure()
    assert "passphrase-Sentinel" not in repr(driver)


def test_without_the_pulumi_cli_the_error_says_what_to_install(tmp_path: Path) -> None:
    driver = stack(tmp_path / "no-pulumi-here", tmp_path)
    with pytest.raises(PulumiCliMissingError, match="the Pulumi CLI is needed") as info:
        driver.exists()
    assert "https://www.pulumi.com/docs/iac/download-install/" in str(info.value)


def test_a_too_old_pulumi_cli_is_refused_with_the_same_advice(
    cli: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_PULUMI_VERSION", "v3.0.1")
    with pytest.raises(PulumiCliMissingError, match="the Pulumi CLI is needed"):
        stack(cli, tmp_path).exists()


def test_change_summaries_ignore_what_stays_the_same() -> None:
    summary = {"same": 12, "create": 2, "update": 0, "replace": 1}
    assert changes_in(summary) == {"create": 2, "replace": 1}
    assert describe_changes(summary) == "2 to create, 1 to replace"
    assert describe_changes({"same": 3}) == "no changes"


def test_an_imported_state_is_written_privately_and_removed_even_when_the_import_fails(
    cli: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    target = stack(cli, tmp_path)
    target.ensure()
    deployment = {"resources": [{"outputs": {"token": "K3sTokenSentinel"}}]}

    target.import_state(deployment)
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["stacks"]["prod"]["deployment"] == {"version": 3, "deployment": deployment}
    assert state["imports"]["prod"]["mode"] == "0o600"
    assert state["imports"]["prod"]["dir"] == "0o700"
    assert list(scratch.iterdir()) == []

    monkeypatch.setenv("FAKE_PULUMI_IMPORT_FAILS", "1")
    with pytest.raises(CommandError):
        target.import_state(deployment)
    assert list(scratch.iterdir()) == []
    assert not Path(state["imports"]["prod"]["path"]).exists()
