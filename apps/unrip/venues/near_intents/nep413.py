"""NEP-413 signed messages: what a solver signs to commit to a quote.

The verifier contract (``intents.near``) executes a solver's ``token_diff`` intent only if it
carries a valid NEP-413 signature by a key registered for the solver's account. The signed
bytes are ``sha256(borsh(u32 tag = 2**31 + 413) || borsh(payload))`` with the payload
``{message: String, nonce: [u8; 32], recipient: String, callback_url: Option<String>}``
(NEP-413, "Signing messages"). Keys and signatures travel as ``ed25519:<base58>``.

Nonces are derived, not random: the same client order id always yields the same nonce, so a
re-sent response is the same intent and the contract, which refuses a used nonce, executes it
at most once.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import base58
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

NEP413_TAG: Final = 2**31 + 413
NONCE_LEN: Final = 32
ED25519_PREFIX: Final = "ed25519:"

# Versioned nonce (verifier contract, `VersionedNonce::V1`): MAGIC (4) || VERSION (1) ||
# SALT (4) || DEADLINE (u64 LE, ns since the epoch) || 15 bytes. The contract refuses an intent
# whose deadline is later than its nonce's, and refuses salts it does not (or no longer)
# accept; the current salt is the contract's `current_salt` view.
VERSIONED_NONCE_MAGIC: Final = bytes.fromhex("5628f6c6")
VERSIONED_NONCE_VERSION: Final = 0
SALT_LEN: Final = 4
_VERSIONED_RANDOM_LEN: Final = 15
_NONCE_DOMAIN: Final = b"unrip/near-intents/nep413-nonce\x1f"


class KeyFormatError(ValueError):
    """A key or signature that is not ``ed25519:<base58>`` of the right length.

    The message never contains the offending value: it may be a private key.
    """


@dataclass(frozen=True, slots=True)
class Nep413Payload:
    """The NEP-413 payload; ``message`` is the intent JSON exactly as it will be sent."""

    message: str
    nonce: bytes
    recipient: str
    callback_url: str | None = None

    def __post_init__(self) -> None:
        if len(self.nonce) != NONCE_LEN:
            raise ValueError(f"a NEP-413 nonce is {NONCE_LEN} bytes, not {len(self.nonce)}")

    def to_borsh(self) -> bytes:
        """The exact bytes that are hashed: tag, then the borsh-serialised payload."""
        parts = [
            struct.pack("<I", NEP413_TAG),
            _borsh_string(self.message),
            self.nonce,
            _borsh_string(self.recipient),
        ]
        if self.callback_url is None:
            parts.append(b"\x00")
        else:
            parts += [b"\x01", _borsh_string(self.callback_url)]
        return b"".join(parts)

    def hash(self) -> bytes:
        """sha256 of the borsh bytes: what the key signs and what the relay calls quote_hash."""
        return hashlib.sha256(self.to_borsh()).digest()

    def nonce_b64(self) -> str:
        return base64.b64encode(self.nonce).decode()


def _borsh_string(value: str) -> bytes:
    encoded = value.encode("utf-8")
    return struct.pack("<I", len(encoded)) + encoded


class Ed25519Signer:
    """A NEAR ed25519 signing key. Its repr and str never show the secret."""

    __slots__ = ("_key", "public_key")

    def __init__(self, key: SigningKey) -> None:
        self._key = key
        self.public_key: Final = encode_ed25519(bytes(key.verify_key))

    @classmethod
    def from_near_secret(cls, secret: str) -> Ed25519Signer:
        """Parse ``ed25519:<base58>``: NEAR's 64-byte (seed || public key) form or a seed."""
        raw = decode_ed25519(secret, lengths=(32, 64), what="secret key")
        key = SigningKey(raw[:32])
        if len(raw) == 64 and bytes(key.verify_key) != raw[32:]:
            raise KeyFormatError("secret key: its public half does not match its seed")
        return cls(key)

    @classmethod
    def generate(cls) -> Ed25519Signer:
        return cls(SigningKey.generate())

    def near_secret(self) -> str:
        """The key in NEAR's ``ed25519:<base58(seed || public key)>`` form (for key files)."""
        return encode_ed25519(bytes(self._key) + bytes(self._key.verify_key))

    def sign(self, payload: Nep413Payload) -> str:
        """``ed25519:<base58 signature>`` over the payload's hash."""
        signature = self._key.sign(payload.hash()).signature
        return encode_ed25519(signature)

    def sign_bytes(self, message: bytes) -> bytes:
        """The raw 64-byte signature of ``message`` (a NEAR transaction signs its hash)."""
        return bytes(self._key.sign(message).signature)

    def __repr__(self) -> str:
        return f"Ed25519Signer(public_key={self.public_key!r})"

    __str__ = __repr__


def verify(payload: Nep413Payload, signature: str, public_key: str) -> bool:
    """Whether ``signature`` is ``public_key``'s NEP-413 signature of ``payload``."""
    try:
        key = VerifyKey(decode_ed25519(public_key, lengths=(32,), what="public key"))
        key.verify(payload.hash(), decode_ed25519(signature, lengths=(64,), what="signature"))
    except (BadSignatureError, KeyFormatError):
        return False
    return True


def encode_ed25519(raw: bytes) -> str:
    return ED25519_PREFIX + base58.b58encode(raw).decode("ascii")


def decode_ed25519(value: str, *, lengths: tuple[int, ...], what: str) -> bytes:
    if not value.startswith(ED25519_PREFIX):
        raise KeyFormatError(f"{what}: expected the form ed25519:<base58>")
    try:
        raw: bytes = base58.b58decode(value[len(ED25519_PREFIX) :])
    except ValueError:
        raise KeyFormatError(f"{what}: not valid base58") from None
    if len(raw) not in lengths:
        raise KeyFormatError(f"{what}: {len(raw)} bytes, expected one of {lengths}")
    return raw


def legacy_nonce(seed: str) -> bytes:
    """A 32-byte nonce derived from ``seed`` (the client order id).

    The verifier still accepts such "legacy" nonces but has announced it will stop; use
    ``versioned_nonce`` whenever the contract salt is configured.
    """
    return hashlib.sha256(_NONCE_DOMAIN + seed.encode("utf-8")).digest()


def versioned_nonce(*, salt: bytes, deadline: datetime, seed: str) -> bytes:
    """A V1 versioned nonce for ``salt``, expiring at ``deadline``, its tail from ``seed``."""
    if len(salt) != SALT_LEN:
        raise ValueError(f"the verifier salt is {SALT_LEN} bytes, not {len(salt)}")
    deadline_ns = _epoch_ms(deadline) * 1_000_000
    tail = legacy_nonce(seed)[:_VERSIONED_RANDOM_LEN]
    return (
        VERSIONED_NONCE_MAGIC
        + bytes([VERSIONED_NONCE_VERSION])
        + salt
        + struct.pack("<Q", deadline_ns)
        + tail
    )


def _epoch_ms(moment: datetime) -> int:
    if moment.utcoffset() is None:
        raise ValueError("deadline must be timezone-aware")
    return (moment - _EPOCH) // timedelta(milliseconds=1)


_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
