"""NearIntentsSettings: environment variables, validation, and what may be shown."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from unrip.venues.near_intents.nep413 import Ed25519Signer
from unrip.venues.near_intents.settings import (
    DEFAULT_RELAY_URL,
    MissingCredentialsError,
    NearIntentsSettings,
)

PREFIX = "UNRIP_NEAR_INTENTS_"


def test_defaults_point_at_the_public_relay_and_need_no_secrets() -> None:
    settings = NearIntentsSettings()
    assert settings.relay_url == DEFAULT_RELAY_URL
    assert settings.subscriptions == ["quote"]
    assert settings.jwt is None and settings.signing_key is None
    assert settings.verifier_contract == "intents.near"


def test_reads_the_prefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    key = Ed25519Signer.generate()
    monkeypatch.setenv(f"{PREFIX}RELAY_URL", "ws://127.0.0.1:9000/ws")
    monkeypatch.setenv(f"{PREFIX}JWT", "jwt-value")
    monkeypatch.setenv(f"{PREFIX}SOLVER_ACCOUNT_ID", "solver.near")
    monkeypatch.setenv(f"{PREFIX}SIGNING_KEY", key.near_secret())
    monkeypatch.setenv(f"{PREFIX}SUBSCRIPTIONS", "quote, quote_status")
    monkeypatch.setenv(f"{PREFIX}TOKENS", '["nep141:wrap.near", "nep141:usdt.tether-token.near"]')
    monkeypatch.setenv(f"{PREFIX}NONCE_SALT", "E110F317")
    monkeypatch.setenv(f"{PREFIX}RESPONSE_WINDOW_MS", "700")

    settings = NearIntentsSettings()
    identity = settings.solver_identity()

    assert settings.relay_url == "ws://127.0.0.1:9000/ws"
    assert settings.jwt is not None and settings.jwt.get_secret_value() == "jwt-value"
    assert settings.subscriptions == ["quote", "quote_status"]
    assert settings.tokens == ["nep141:wrap.near", "nep141:usdt.tether-token.near"]
    assert settings.response_window_ms == 700
    assert identity.account_id == "solver.near"
    assert identity.signer.public_key == key.public_key
    assert identity.nonce_salt == bytes.fromhex("e110f317")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("relay_url", "https://solver-relay-v2.chaindefuser.com/ws"),
        ("solver_account_id", "Solver.Near"),
        ("nonce_salt", "e110f3"),
        ("nonce_salt", "not-hex!"),
        ("subscriptions", ""),
        ("tokens", "wrap.near"),
        ("response_window_ms", "0"),
    ],
)
def test_invalid_values_are_refused(
    monkeypatch: pytest.MonkeyPatch, field: str, value: str
) -> None:
    monkeypatch.setenv(f"{PREFIX}{field.upper()}", value)
    with pytest.raises(ValidationError):
        NearIntentsSettings()


def test_secrets_are_masked_in_every_rendering() -> None:
    key = Ed25519Signer.generate().near_secret()
    settings = NearIntentsSettings(jwt="jwt-value", signing_key=key, solver_account_id="s.near")
    for text in (repr(settings), str(settings), settings.model_dump_json()):
        assert "jwt-value" not in text
        assert key not in text


def test_identity_requires_account_and_key() -> None:
    expected = f"{PREFIX}SOLVER_ACCOUNT_ID, {PREFIX}SIGNING_KEY"
    with pytest.raises(MissingCredentialsError, match=expected):
        NearIntentsSettings().solver_identity()
