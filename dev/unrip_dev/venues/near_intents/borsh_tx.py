"""Decode a borsh ``SignedTransaction`` as a NEAR node does, written apart from the encoder.

The fake RPC node checks what the product sends with this independent reading of nearcore's
layout, so an encoding mistake fails a test instead of agreeing with itself.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from typing import Any

import base58


@dataclass(frozen=True)
class DecodedTransaction:
    signer_id: str
    public_key: str
    nonce: int
    receiver_id: str
    block_hash: str
    actions: list[dict[str, Any]]
    transaction_bytes: bytes
    signature: bytes

    @property
    def hash(self) -> str:
        return base58.b58encode(hashlib.sha256(self.transaction_bytes).digest()).decode()


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, size: int) -> bytes:
        if self.at + size > len(self.data):
            raise ValueError("truncated transaction")
        chunk = self.data[self.at : self.at + size]
        self.at += size
        return chunk

    def u8(self) -> int:
        return self.take(1)[0]

    def u32(self) -> int:
        return int(struct.unpack("<I", self.take(4))[0])

    def u64(self) -> int:
        return int(struct.unpack("<Q", self.take(8))[0])

    def u128(self) -> int:
        return int.from_bytes(self.take(16), "little")

    def string(self) -> str:
        return self.take(self.u32()).decode("utf-8")


def decode_signed_transaction(data: bytes) -> DecodedTransaction:
    reader = _Reader(data)
    signer_id = reader.string()
    if reader.u8() != 0:
        raise ValueError("only ed25519 keys")
    public_key = "ed25519:" + base58.b58encode(reader.take(32)).decode()
    nonce = reader.u64()
    receiver_id = reader.string()
    block_hash = base58.b58encode(reader.take(32)).decode()
    actions: list[dict[str, Any]] = []
    for _ in range(reader.u32()):
        if reader.u8() != 2:
            raise ValueError("only FunctionCall actions")
        method_name = reader.string()
        args = reader.take(reader.u32()).decode("utf-8")
        gas, deposit = reader.u64(), reader.u128()
        actions.append({"method_name": method_name, "args": args, "gas": gas, "deposit": deposit})
    transaction_bytes = data[: reader.at]
    if reader.u8() != 0:
        raise ValueError("only ed25519 signatures")
    signature = reader.take(64)
    if reader.at != len(data):
        raise ValueError("trailing bytes after the signature")
    return DecodedTransaction(
        signer_id, public_key, nonce, receiver_id, block_hash, actions, transaction_bytes, signature
    )
