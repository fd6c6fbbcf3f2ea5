"""NEAR transactions, borsh-encoded and signed: what the recall sends to the verifier contract.

Only what ``invalidate_nonces`` needs: a ``Transaction`` (V0: signer, ed25519 public key,
access-key nonce, receiver, recent block hash) with ``FunctionCall`` actions, signed with the
solver's key over ``sha256(borsh(transaction))``, as nearcore defines them
(``core/primitives/src/transaction.rs``). Encoding is pure; sending is ``recall.py``'s job.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from dataclasses import dataclass

import base58

from unrip.venues.near_intents.nep413 import Ed25519Signer, decode_ed25519

ED25519_KEY_TYPE = 0
FUNCTION_CALL_ACTION = 2
ONE_YOCTO = 1
DEFAULT_GAS = 100 * 10**12  # 100 Tgas


@dataclass(frozen=True, slots=True, kw_only=True)
class FunctionCall:
    method_name: str
    args: bytes
    gas: int = DEFAULT_GAS
    deposit: int = 0

    def to_borsh(self) -> bytes:
        return (
            bytes([FUNCTION_CALL_ACTION])
            + _string(self.method_name)
            + _bytes(self.args)
            + struct.pack("<Q", self.gas)
            + self.deposit.to_bytes(16, "little")
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Transaction:
    signer_id: str
    public_key: str  # ed25519:<base58>
    nonce: int  # the access key's nonce + 1
    receiver_id: str
    block_hash: str  # base58 of a recent block's hash
    actions: tuple[FunctionCall, ...]

    def to_borsh(self) -> bytes:
        block_hash = base58.b58decode(self.block_hash)
        if len(block_hash) != 32:
            raise ValueError("block hash must be 32 bytes")
        key = decode_ed25519(self.public_key, lengths=(32,), what="public key")
        return (
            _string(self.signer_id)
            + bytes([ED25519_KEY_TYPE])
            + key
            + struct.pack("<Q", self.nonce)
            + _string(self.receiver_id)
            + block_hash
            + struct.pack("<I", len(self.actions))
            + b"".join(action.to_borsh() for action in self.actions)
        )

    def sign(self, signer: Ed25519Signer) -> SignedTransaction:
        body = self.to_borsh()
        digest = hashlib.sha256(body).digest()
        signature = signer.sign_bytes(digest)
        return SignedTransaction(
            borsh=body + bytes([ED25519_KEY_TYPE]) + signature,
            hash=base58.b58encode(digest).decode("ascii"),
        )


@dataclass(frozen=True, slots=True)
class SignedTransaction:
    borsh: bytes
    hash: str  # base58(sha256(transaction)): the transaction's id on chain

    def base64(self) -> str:
        return base64.b64encode(self.borsh).decode("ascii")


def _string(value: str) -> bytes:
    return _bytes(value.encode("utf-8"))


def _bytes(value: bytes) -> bytes:
    return struct.pack("<I", len(value)) + value
