"""Local runs replace the operator's bus settings but keep the operator's venue credentials."""

from __future__ import annotations

import pytest
from unrip_dev.supervisor import local_env


def test_a_local_run_passes_the_relay_jwt_to_its_services(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNRIP_NEAR_INTENTS_JWT", "partner-jwt")
    monkeypatch.setenv("UNRIP_NEAR_INTENTS_TOKENS", "nep141:wrap.near")

    env = local_env("127.0.0.1:9092")

    assert env["UNRIP_NEAR_INTENTS_JWT"] == "partner-jwt"
    assert env["UNRIP_NEAR_INTENTS_TOKENS"] == "nep141:wrap.near"


def test_a_local_run_replaces_the_operators_bus_and_paper_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("UNRIP_KAFKA_BOOTSTRAP_SERVERS", "prod-broker:9092")
    monkeypatch.setenv("UNRIP_PAPER_DB_PATH", "/var/lib/book.sqlite")
    monkeypatch.setenv("UNRIP_EXECUTOR_VENUE", "near_intents")

    env = local_env("127.0.0.1:9092")

    assert env["UNRIP_KAFKA_BOOTSTRAP_SERVERS"] == "127.0.0.1:9092"
    assert "UNRIP_PAPER_DB_PATH" not in env and "UNRIP_EXECUTOR_VENUE" not in env
