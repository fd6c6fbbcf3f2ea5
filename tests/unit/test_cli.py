"""`unrip <service>` refuses bad settings naming the variable the operator sets, never its value."""

from __future__ import annotations

import os

import pytest
from unrip.cli import main


@pytest.fixture(autouse=True)
def hermetic_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("UNRIP_"):
            monkeypatch.delenv(name)


def test_a_bad_venue_setting_is_named_with_the_venues_prefix(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("UNRIP_EXECUTOR_VENUE", "near_intents")
    monkeypatch.setenv("UNRIP_COMMAND_SIGNING_DISABLED", "true")
    monkeypatch.setenv("UNRIP_NEAR_INTENTS_RELAY_URL", "https://secret-host.example/ws")

    assert main(["executor"]) == 2

    err = capsys.readouterr().err
    assert "UNRIP_NEAR_INTENTS_RELAY_URL" in err
    assert "secret-host" not in err


def test_a_bad_service_setting_is_named_with_the_service_prefix(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("UNRIP_HTTP_PORT", "99999")

    assert main(["executor"]) == 2

    assert "unrip executor: UNRIP_HTTP_PORT:" in capsys.readouterr().err


def test_a_check_across_settings_is_printed_without_an_empty_variable_name(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("UNRIP_COMMAND_SIGNING_KEY", raising=False)
    monkeypatch.delenv("UNRIP_COMMAND_SIGNING_DISABLED", raising=False)

    assert main(["executor"]) == 2

    err = capsys.readouterr().err
    assert err.startswith("unrip executor: ") and "UNRIP_COMMAND_SIGNING_KEY is not set" in err
    assert "UNRIP_: " not in err
