"""`invoke pulumi` runs the CLI on the bootstrap's backend, passphrase, stack and venv."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pytest
import yaml
from unrip_bootstrap.hand_run import HandRunError, run_pulumi, with_stack
from unrip_bootstrap.options import BootstrapOptions
from unrip_bootstrap.secret_files import SecretsInvalidError
from unrip_platform.cluster.settings import ClusterSettings
from unrip_platform.hetzner.config import settings_from_config

ROOT = Path(__file__).resolve().parents[2]
PASSPHRASE = "correct horse battery staple"

# A stand-in `pulumi` (the CLI cannot be downloaded here): records argv, cwd and the variables.
FAKE_PULUMI = f"""#!{sys.executable}
import json, os, sys
with open(os.environ["FAKE_PULUMI_LOG"], "a") as log:
    log.write(json.dumps({{"argv": sys.argv[1:], "cwd": os.getcwd(), "env": dict(os.environ)}}))
sys.exit(int(os.environ.get("FAKE_PULUMI_EXIT", "0")))
"""


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A checkout with .venv, .secrets/pulumi-state.yaml and a fake pulumi on PATH."""
    root = tmp_path / "repo"
    for project in ("hetzner", "cluster"):
        (root / "platform" / project).mkdir(parents=True)
    (root / ".venv" / "bin").mkdir(parents=True)
    (root / ".venv" / "bin" / "python").symlink_to(sys.executable)
    secrets = root / ".secrets"
    secrets.mkdir()
    state = secrets / "pulumi-state.yaml"
    state.write_text(yaml.safe_dump({"config_passphrase": PASSPHRASE}))
    state.chmod(0o600)
    tools = tmp_path / "tools"
    tools.mkdir()
    fake = tools / "pulumi"
    fake.write_text(FAKE_PULUMI)
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tools}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_PULUMI_LOG", str(tmp_path / "calls.jsonl"))
    return root


def calls(repo: Path) -> list[dict[str, object]]:
    log = repo.parent / "calls.jsonl"
    return [json.loads(line) for line in log.read_text().replace("}{", "}\n{").splitlines()]


def test_up_lands_on_the_bootstraps_backend_stack_and_passphrase(repo: Path) -> None:
    options = BootstrapOptions(repo_root=repo, stack="prod")
    assert run_pulumi(options, "hetzner", ["up", "--yes"]) == 0
    [call] = calls(repo)
    assert call["argv"] == ["up", "--yes", "--stack", "prod"]
    assert call["cwd"] == str(repo / "platform" / "hetzner")
    env = call["env"]
    assert isinstance(env, dict)
    assert env["PULUMI_BACKEND_URL"] == options.default_backend
    assert env["PULUMI_CONFIG_PASSPHRASE"] == PASSPHRASE
    assert env["PATH"].split(os.pathsep)[0] == str(repo / ".venv" / "bin")
    assert (repo / ".state" / "pulumi").is_dir()  # the file backend exists before the CLI runs


def test_the_cli_exit_code_is_passed_on(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_PULUMI_EXIT", "3")
    assert run_pulumi(BootstrapOptions(repo_root=repo), "cluster", ["preview"]) == 3


def test_without_the_venv_it_says_to_run_dot_run(repo: Path) -> None:
    (repo / ".venv" / "bin" / "python").unlink()
    with pytest.raises(HandRunError, match=r"run \./run once"):
        run_pulumi(BootstrapOptions(repo_root=repo), "hetzner", ["up"])


def test_without_pulumi_state_secrets_it_says_which_file(repo: Path) -> None:
    (repo / ".secrets" / "pulumi-state.yaml").unlink()
    with pytest.raises(SecretsInvalidError, match=r"pulumi-state\.yaml: missing"):
        run_pulumi(BootstrapOptions(repo_root=repo), "hetzner", ["up"])


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["up"], ["up", "--stack", "dev"]),
        (["config", "set", "--secret", "k"], ["config", "set", "--secret", "k", "--stack", "dev"]),
        (["stack", "output"], ["stack", "output", "--stack", "dev"]),
        (["stack", "init"], ["stack", "init", "dev"]),
        (["up", "--stack", "other"], ["up", "--stack", "other"]),
        (["version"], ["version"]),
    ],
)
def test_stack_commands_get_the_stack_unless_one_is_given(
    args: list[str], expected: list[str]
) -> None:
    assert with_stack(args, "dev") == expected


def test_a_copied_hetzner_example_stack_validates(tmp_path: Path) -> None:
    copied = tmp_path / "Pulumi.prod.yaml"
    copied.write_text((ROOT / "platform" / "hetzner" / "Pulumi.example.yaml").read_text())
    config = yaml.safe_load(copied.read_text())["config"]
    assert not any(isinstance(v, dict) and "secure" in v for v in config.values())
    raw = {key.split(":", 1)[1]: value for key, value in config.items()}
    settings = settings_from_config(raw, stack="prod")
    assert settings.node_count == 1


def test_a_copied_cluster_example_stack_validates_and_holds_no_ciphertext(tmp_path: Path) -> None:
    copied = tmp_path / "Pulumi.prod.yaml"
    copied.write_text((ROOT / "platform" / "cluster" / "Pulumi.example.yaml").read_text())
    config = yaml.safe_load(copied.read_text())["config"]
    assert "secure:" not in copied.read_text().split("config:", 1)[1]
    assert ClusterSettings.model_validate(config["unrip-cluster:settings"]) == ClusterSettings()
