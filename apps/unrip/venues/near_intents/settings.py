"""Configuration of the NEAR Intents adapter, from ``UNRIP_NEAR_INTENTS_*`` environment variables.

The same class serves the ingest (relay URL, JWT, subscriptions, response window) and the
executor's venue (plus the solver account and its signing key). Secrets are ``SecretStr``:
their repr is masked, and nothing in this package formats their value into a log line or an
exception message.
"""

from __future__ import annotations

import json
from typing import Annotated, Final

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from unrip.venues.near_intents.assets import check_asset_id, is_account_id
from unrip.venues.near_intents.nep413 import SALT_LEN, Ed25519Signer, KeyFormatError
from unrip.venues.near_intents.quote_response import SolverIdentity

ENV_PREFIX: Final = "UNRIP_NEAR_INTENTS_"
DEFAULT_RELAY_URL: Final = "wss://solver-relay-v2.chaindefuser.com/ws"
DEFAULT_TOKENS_URL: Final = "https://1click.chaindefuser.com/v0/tokens"


class MissingCredentialsError(RuntimeError):
    """The venue cannot sign: names the missing settings, never any value."""


class NearIntentsSettings(BaseSettings):
    """Every knob of the adapter; docs/venues/near-intents.md describes each."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    relay_url: str = DEFAULT_RELAY_URL
    jwt: SecretStr | None = Field(default=None, description="partner JWT for the relay")
    solver_account_id: str | None = None
    signing_key: SecretStr | None = Field(
        default=None, description="ed25519:<base58> key registered for the solver account"
    )
    verifier_contract: str = "intents.near"
    nonce_salt: str | None = Field(
        default=None, description="hex of the verifier's current_salt; unset = legacy nonces"
    )
    subscriptions: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["quote"])
    tokens: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="relay-side quote filter; empty = every pair"
    )
    response_window_ms: int = Field(default=1000, gt=0, le=60_000)
    reconnect_initial_s: float = Field(default=0.25, gt=0)
    reconnect_max_s: float = Field(default=30.0, gt=0)
    request_timeout_s: float = Field(default=2.0, gt=0)
    settle_grace_ms: int = Field(default=10_000, ge=0)
    # The price stream: 1Click's public token list, polled; changes published at once, and
    # every asset again after price_heartbeat_s without a change (staleness stays visible).
    tokens_url: str = DEFAULT_TOKENS_URL
    price_poll_interval_s: float = Field(default=5.0, gt=0)
    price_heartbeat_s: float = Field(default=30.0, gt=0)
    # NEAR JSON-RPC endpoint for the verifier's is_nonce_used / invalidate_nonces; unset: no
    # chain checks (outcomes only from quote_status, none after a restart).
    rpc_url: str | None = None
    # The account that signs the relay's settlement transactions: NEAR's ``tx`` method needs
    # a transaction's sender to find it, and quote_status names only the hash. Used to date a
    # fill from its block; unset: the verifier contract is passed (nodes that track every
    # shard find it; others answer an error, and the fill is dated at its notice's arrival).
    settlement_signer_id: str | None = None
    # The executor's own bound on a signed quote's lifetime, checked again after the reactor's
    # strategy maximum: a forged or stale command cannot get a quote signed for years.
    max_quote_validity_ms: int = Field(default=120_000, gt=0, le=86_400_000)

    @field_validator("subscriptions", "tokens", mode="before")
    @classmethod
    def _split_list(cls, value: object) -> object:
        # Env vars hold "quote,quote_status"; a JSON list is accepted too.
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [item.strip() for item in text.split(",") if item.strip()]
        return value

    @field_validator("relay_url")
    @classmethod
    def _websocket_url(cls, value: str) -> str:
        if not value.startswith(("ws://", "wss://")):
            raise ValueError("relay_url must be a ws:// or wss:// URL")
        return value

    @field_validator("solver_account_id", "verifier_contract", "settlement_signer_id")
    @classmethod
    def _account_id(cls, value: str | None) -> str | None:
        if value is not None and not is_account_id(value):
            raise ValueError("not a NEAR account id")
        return value

    @field_validator("nonce_salt")
    @classmethod
    def _salt(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        try:
            salt = bytes.fromhex(value)
        except ValueError:
            raise ValueError("nonce_salt must be hex") from None
        if len(salt) != SALT_LEN:
            raise ValueError(f"nonce_salt must be {SALT_LEN} bytes ({2 * SALT_LEN} hex digits)")
        return value.lower()

    @field_validator("subscriptions")
    @classmethod
    def _non_empty(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("at least one subscription is needed")
        return value

    @field_validator("tokens")
    @classmethod
    def _asset_ids(cls, value: list[str]) -> list[str]:
        for asset_id in value:
            check_asset_id(asset_id)
        return value

    def quote_filter(self) -> dict[str, list[str]] | None:
        """The relay's quote subscription filter: only quotes whose both assets are listed."""
        if not self.tokens:
            return None
        return {"tokens_in": list(self.tokens), "tokens_out": list(self.tokens)}

    def solver_identity(self) -> SolverIdentity:
        """The signing identity, or ``MissingCredentialsError`` naming what is absent."""
        missing = [
            ENV_PREFIX + name.upper()
            for name, value in (
                ("solver_account_id", self.solver_account_id),
                ("signing_key", self.signing_key),
            )
            if not value
        ]
        if missing:
            raise MissingCredentialsError(
                f"the NEAR Intents venue signs quotes and cannot start without {', '.join(missing)}"
            )
        assert self.signing_key is not None and self.solver_account_id is not None
        try:
            signer = Ed25519Signer.from_near_secret(self.signing_key.get_secret_value())
        except KeyFormatError as exc:
            raise MissingCredentialsError(f"{ENV_PREFIX}SIGNING_KEY is unusable: {exc}") from None
        return SolverIdentity(
            account_id=self.solver_account_id,
            signer=signer,
            verifier_contract=self.verifier_contract,
            nonce_salt=bytes.fromhex(self.nonce_salt) if self.nonce_salt else None,
        )
