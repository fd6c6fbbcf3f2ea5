"""NEP-413: byte layout, known vectors from near-api-js, keys, signatures and nonces."""

from __future__ import annotations

import base64
import hashlib
import struct
from datetime import UTC, datetime

import base58
import pytest
from unrip.venues.near_intents.nep413 import (
    Ed25519Signer,
    KeyFormatError,
    Nep413Payload,
    encode_ed25519,
    legacy_nonce,
    verify,
    versioned_nonce,
)

# Published by near-api-js for its NEP-413 tests (key ed25519:3FyRt..., nonce below).
VECTOR_NONCE = base64.b64decode("KNV0cOpvJ50D5vfF9pqWom8wo2sliQ4W+Wa7uZ3Uk6Y=")
VECTOR_PUBLIC_KEY = "ed25519:2RM3EotCzEiVobm6aMjaup43k8cFffR4KHFtrqbZ79Qy"
VECTOR_SIG_WITH_CALLBACK = (
    "zzZQ/GwAjrZVrTIFlvmmQbDQHllfzrr8urVWHaRt5cPfcXaCSZo35c5LDpPpTKivR6BxLyb3lcPM0FfCW5lcBQ=="
)
VECTOR_SIG_WITHOUT_CALLBACK = (
    "NnJgPU1Ql7ccRTITIoOVsIfElmvH1RV7QAT4a9Vh6ShCOnjIzRwxqX54JzoQ/nK02p7VBMI2vJn48rpImIJwAw=="
)


def near_signature(b64: str) -> str:
    return encode_ed25519(base64.b64decode(b64))


def test_borsh_layout_is_tag_then_payload_fields() -> None:
    nonce = bytes(range(32))
    payload = Nep413Payload(message="hi", nonce=nonce, recipient="myapp.com")

    data = payload.to_borsh()

    assert data[:4] == bytes.fromhex("9d010080")  # u32 LE of 2**31 + 413
    assert data[4:8] == struct.pack("<I", 2) and data[8:10] == b"hi"
    assert data[10:42] == nonce  # fixed [u8; 32], no length prefix
    assert data[42:46] == struct.pack("<I", 9) and data[46:55] == b"myapp.com"
    assert data[55:] == b"\x00"  # callback_url: None
    assert payload.hash() == hashlib.sha256(data).digest()


def test_callback_url_is_a_borsh_option() -> None:
    payload = Nep413Payload("hi", bytes(32), "myapp.com", callback_url="myapp.com/cb")
    assert payload.to_borsh().endswith(b"\x01" + struct.pack("<I", 12) + b"myapp.com/cb")


def test_message_length_counts_utf8_bytes() -> None:
    payload = Nep413Payload("€", bytes(32), "r")
    assert payload.to_borsh()[4:11] == struct.pack("<I", 3) + "€".encode()


def test_hash_matches_near_api_js_vector() -> None:
    payload = Nep413Payload("Hello NEAR!", VECTOR_NONCE, "round-toad.testnet")
    assert list(payload.hash()[:8]) == [1, 152, 236, 223, 103, 218, 230, 0]


@pytest.mark.parametrize(
    ("callback", "signature"),
    [("http://localhost:3000", VECTOR_SIG_WITH_CALLBACK), (None, VECTOR_SIG_WITHOUT_CALLBACK)],
)
def test_near_api_js_signatures_verify(callback: str | None, signature: str) -> None:
    payload = Nep413Payload("Hello NEAR!", VECTOR_NONCE, "example.near", callback)
    assert verify(payload, near_signature(signature), VECTOR_PUBLIC_KEY)


def test_sign_verify_round_trip_and_tampering() -> None:
    signer = Ed25519Signer.generate()
    payload = Nep413Payload('{"intents":[]}', legacy_nonce("order-1"), "intents.near")

    signature = signer.sign(payload)

    assert signature.startswith("ed25519:")
    assert len(base58.b58decode(signature.removeprefix("ed25519:"))) == 64
    assert verify(payload, signature, signer.public_key)
    tampered = Nep413Payload('{"intents":[1]}', payload.nonce, payload.recipient)
    assert not verify(tampered, signature, signer.public_key)
    assert not verify(payload, signature, Ed25519Signer.generate().public_key)


@pytest.mark.parametrize(
    "signature", ["", "ed25519:", "secp256k1:abc", "ed25519:0OIl", "ed25519:" + "1" * 10]
)
def test_malformed_signatures_do_not_verify(signature: str) -> None:
    payload = Nep413Payload("m", bytes(32), "r")
    assert not verify(payload, signature, Ed25519Signer.generate().public_key)


def test_signing_is_deterministic() -> None:
    signer = Ed25519Signer.generate()
    payload = Nep413Payload("m", legacy_nonce("x"), "intents.near")
    assert signer.sign(payload) == signer.sign(payload)


def test_near_secret_key_round_trips_in_both_forms() -> None:
    signer = Ed25519Signer.generate()
    full = signer.near_secret()
    seed = encode_ed25519(base58.b58decode(full.removeprefix("ed25519:"))[:32])

    assert Ed25519Signer.from_near_secret(full).public_key == signer.public_key
    assert Ed25519Signer.from_near_secret(seed).public_key == signer.public_key


@pytest.mark.parametrize(
    ("secret", "problem"),
    [
        ("base58-without-its-curve-prefix", "ed25519:<base58>"),
        ("ed25519:0OIl0OIl", "base58"),
        ("ed25519:" + base58.b58encode(bytes(40)).decode(), "40 bytes"),
    ],
)
def test_unusable_secret_keys_are_refused_without_echoing_them(secret: str, problem: str) -> None:
    with pytest.raises(KeyFormatError, match=problem) as caught:
        Ed25519Signer.from_near_secret(secret)
    assert secret.removeprefix("ed25519:") not in str(caught.value)


def test_secret_key_whose_public_half_does_not_match_is_refused() -> None:
    a, b = Ed25519Signer.generate(), Ed25519Signer.generate()
    raw_a = base58.b58decode(a.near_secret().removeprefix("ed25519:"))
    raw_b = base58.b58decode(b.near_secret().removeprefix("ed25519:"))
    with pytest.raises(KeyFormatError, match="does not match"):
        Ed25519Signer.from_near_secret(encode_ed25519(raw_a[:32] + raw_b[32:]))


def test_signer_repr_shows_only_the_public_key() -> None:
    signer = Ed25519Signer.generate()
    secret = signer.near_secret().removeprefix("ed25519:")
    assert signer.public_key in repr(signer)
    assert secret not in repr(signer) and secret not in str(signer)


def test_legacy_nonce_is_deterministic_per_seed() -> None:
    assert legacy_nonce("order-1") == legacy_nonce("order-1")
    assert legacy_nonce("order-1") != legacy_nonce("order-2")
    assert len(legacy_nonce("order-1")) == 32


def test_versioned_nonce_layout() -> None:
    deadline = datetime(2026, 3, 1, 12, 0, 5, 250000, tzinfo=UTC)
    nonce = versioned_nonce(salt=bytes.fromhex("e110f317"), deadline=deadline, seed="order-1")

    assert len(nonce) == 32
    assert nonce[:4] == bytes.fromhex("5628f6c6")  # versioned-nonce magic
    assert nonce[4] == 0  # version
    assert nonce[5:9] == bytes.fromhex("e110f317")  # salt
    deadline_ns = struct.unpack("<Q", nonce[9:17])[0]
    assert deadline_ns == int(deadline.timestamp() * 1000) * 1_000_000
    assert nonce[17:] == legacy_nonce("order-1")[:15]
    same = versioned_nonce(salt=bytes.fromhex("e110f317"), deadline=deadline, seed="order-1")
    other = versioned_nonce(salt=bytes.fromhex("e110f317"), deadline=deadline, seed="order-2")
    assert nonce == same != other


def test_versioned_nonce_needs_a_four_byte_salt_and_an_aware_deadline() -> None:
    with pytest.raises(ValueError, match="4 bytes"):
        versioned_nonce(salt=b"\x00", deadline=datetime.now(UTC), seed="x")
    with pytest.raises(ValueError, match="timezone"):
        versioned_nonce(salt=bytes(4), deadline=datetime(2026, 1, 1), seed="x")


def test_payload_refuses_a_nonce_of_the_wrong_size() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        Nep413Payload("m", bytes(28), "r")
