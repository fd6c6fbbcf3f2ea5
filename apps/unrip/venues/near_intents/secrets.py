"""The operator's NEAR Intents secret files: the relay JWT and the solver's keys.

Declared to the bootstrap through the plug-in (`SECRETS`), which validates `.secrets/` against
these models and writes Secret `apps/near-intents` from them; the templates are in
`secret-templates/`. The file names, the Secret's name and its keys are what existing
`.secrets/` folders, clusters and the manifests (`UNRIP_NEAR_INTENTS_JWT`, `_SOLVER_ACCOUNT_ID`,
`_SIGNING_KEY`) already use: renaming any of them breaks a running installation.

Messages say what is wrong, never what the value is: secrets stay `SecretStr`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from pathlib import Path
from typing import Final

import base58
from nacl.exceptions import CryptoError
from nacl.signing import SigningKey
from pydantic import SecretStr, field_validator

from unrip.venues.near_intents.assets import is_account_id
from unrip.venues.secrets import SecretFile, SecretFileModel

TEMPLATES: Final = Path(__file__).parent / "secret-templates"
# The Secret in the apps namespace and its keys (unrip_platform.names repeats them for the
# cluster's policies; a test keeps the two equal).
SECRET: Final = "near-intents"  # noqa: S105 (a name)
JWT_KEY: Final = "jwt"
SOLVER_ACCOUNT_KEY: Final = "solver_account_id"
SIGNING_KEY_KEY: Final = "signing_key"

_JWT = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")


class NearRelaySecrets(SecretFileModel):
    """The NEAR Intents solver relay's partner JWT (the ingest's live feed)."""

    jwt: SecretStr

    @field_validator("jwt")
    @classmethod
    def _jwt_shape(cls, value: SecretStr) -> SecretStr:
        text = value.get_secret_value().strip()
        if text.lower().startswith("bearer "):
            raise ValueError("paste the token without the 'Bearer ' prefix")
        if not _JWT.match(text):
            raise ValueError("must be a JWT: three base64url parts separated by dots")
        header = text.split(".", 1)[0]
        try:
            decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
        except (binascii.Error, ValueError):
            decoded = None
        if not isinstance(decoded, dict):
            raise ValueError("must be a JWT: its first part does not decode to a JSON header")
        return SecretStr(text)


class VenueKeySecrets(SecretFileModel):
    """The solver's NEAR account and signing key (only to answer quotes on the live venue)."""

    solver_account_id: str
    signing_key: SecretStr

    @field_validator("solver_account_id")
    @classmethod
    def _account_id(cls, value: str) -> str:
        if not is_account_id(value):
            raise ValueError("not a NEAR account id (e.g. solver.near)")
        return value

    @field_validator("signing_key")
    @classmethod
    def _ed25519_key(cls, value: SecretStr) -> SecretStr:
        text = value.get_secret_value().strip()
        prefix, _, body = text.partition(":")
        if prefix != "ed25519" or not body:
            raise ValueError("must be 'ed25519:<base58>' as in a NEAR key file")
        try:
            raw = base58.b58decode(body)
        except ValueError:
            raise ValueError("the part after 'ed25519:' is not base58") from None
        if len(raw) not in (32, 64):
            raise ValueError("must decode to a 32-byte seed or a 64-byte secret key")
        if len(raw) == 64:
            try:
                public = bytes(SigningKey(raw[:32]).verify_key)
            except CryptoError:
                raise ValueError("not a valid ed25519 secret key") from None
            if public != raw[32:]:
                raise ValueError("its public half does not match its seed")
        return SecretStr(text)


SECRETS: Final = (
    SecretFile(
        filename="near-relay.yaml",
        model=NearRelaySecrets,
        template=TEMPLATES / "near-relay.yaml",
        required=True,
        purpose="NEAR relay JWT",
        secret=SECRET,
        keys={JWT_KEY: "jwt"},
    ),
    SecretFile(
        filename="venue-keys.yaml",
        model=VenueKeySecrets,
        template=TEMPLATES / "venue-keys.yaml",
        required=False,
        purpose="NEAR solver keys",
        secret=SECRET,
        keys={SOLVER_ACCOUNT_KEY: "solver_account_id", SIGNING_KEY_KEY: "signing_key"},
    ),
)
