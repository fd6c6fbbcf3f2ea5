"""The tasks as an operator types them: bad values end in one line, every default is shown."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INVOKE = Path(sys.executable).with_name("invoke")


def invoke(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(INVOKE), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        env=env,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (("dev", "--source", "nope"), "--source"),
        (("dev", "--for", "abc"), "--for"),
        (("dev", "--pace", "slow"), "--pace"),
        (("dev", "--speed", "fast"), "--speed"),
        (("dev", "--executors", "two"), "--executors"),
        (("chaos", "--rate", "fast"), "--rate"),
        (("chaos", "--commands", "many"), "--commands"),
        (("chaos", "--duplicates", "2"), "--duplicates"),
        (("chaos", "--seed", "x"), "--seed"),
    ],
)
def test_a_bad_value_exits_2_with_one_line_naming_the_option(
    args: tuple[str, ...], option: str
) -> None:
    result = invoke(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"{option}: expected ")
    assert args[-1] in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


@pytest.mark.parametrize("task", ["dev", "chaos", "bench", "test", "bootstrap", "pulumi", "lock"])
def test_help_shows_a_default_or_required_for_every_option(task: str) -> None:
    result = invoke("--help", task)
    assert result.returncode == 0, result.stderr
    options = result.stdout.split("Options:", 1)[1]
    # Each option starts a line with its flags; its help text runs on until the next one.
    entries = re.split(r"\n  (?=-)", options.strip("\n"))
    assert entries
    for entry in entries:
        flat = " ".join(entry.split())
        assert "(default: " in flat or "(required)" in flat or "default:" in flat, flat


def test_numeric_options_say_they_take_numbers_in_help() -> None:
    help_text = invoke("--help", "dev").stdout
    assert "--for=NUMBER" in help_text and "--speed=NUMBER" in help_text
    assert "--executors=INT" in help_text
    assert "--pace=recorded|fast" in help_text


def test_invoke_lock_exists_and_explains_itself() -> None:
    result = invoke("lock", "--help")
    assert result.returncode == 0
    assert "hashes" in result.stdout


def test_invoke_pulumi_says_the_cli_is_needed_when_it_is_missing(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path)}  # no pulumi anywhere (.venv has none either)
    result = invoke("pulumi", "--project", "hetzner", "--", "up", env=env)
    assert result.returncode == 1
    assert "the Pulumi CLI is needed" in result.stderr
    assert "Traceback" not in result.stderr


def test_invoke_pulumi_refuses_an_unknown_project() -> None:
    result = invoke("pulumi", "--project", "aws", "--", "up")
    assert result.returncode == 2
    assert result.stderr.strip() == "--project: expected one of hetzner, cluster, not 'aws'"


@pytest.mark.integration
def test_chaos_prints_progress_while_it_runs() -> None:
    process = subprocess.Popen(
        [str(INVOKE), "chaos", "--commands", "50", "--kills", "0", "--pauses", "0"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    seen: list[str] = []
    try:
        for line in process.stderr:  # read as it is printed, before the run ends
            seen.append(line)
            if "commands have a result" in line:
                break
        assert process.poll() is None or process.returncode == 0, "".join(seen)
        assert any("executors ready" in line and "[sent 0" in line for line in seen)
        assert any(re.search(r"sent \d+/\d+ commands", line) for line in seen)
        rest = process.stderr.read()
    finally:
        process.wait(timeout=120)
    assert process.returncode == 0, "".join(seen) + rest
    assert "ok: True" in rest


def test_a_bad_service_setting_exits_2_with_one_line_naming_the_variable() -> None:
    unrip = Path(sys.executable).with_name("unrip")
    env = {**os.environ, "UNRIP_HTTP_PORT": "eighty"}
    result = subprocess.run(
        [str(unrip), "monitor"], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "UNRIP_HTTP_PORT" in lines[0], result.stderr
    assert "eighty" not in result.stderr and "Traceback" not in result.stderr
