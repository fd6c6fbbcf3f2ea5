"""Revoke signed quotes before their deadline: the verifier's ``invalidate_nonces``.

A signed quote stays executable until its deadline whatever the executor does next; when the
kill switch turns on, the solver marks the nonces of its outstanding quotes used, so the
verifier refuses them. It is a NEAR transaction signed by the solver key (1 yoctoNEAR
attached, as the contract requires): the access key's nonce and a recent block hash from
``view_access_key`` at final finality, then ``send_tx``.

A quote executed before the transaction lands stays executed (its nonce was already used):
the recall narrows the window, it cannot undo a settlement (docs/venues/near-intents.md).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence

from unrip.venues.near_intents.chain import FINALITY, ChainUnavailableError, NearRpc
from unrip.venues.near_intents.quote_response import SolverIdentity
from unrip.venues.near_intents.transaction import ONE_YOCTO, FunctionCall, Transaction

# Nonces per transaction: keeps the call within the gas attached and the request small.
MAX_NONCES_PER_TRANSACTION = 200


async def invalidate_nonces(
    rpc: NearRpc, identity: SolverIdentity, nonces: Sequence[bytes]
) -> list[str]:
    """Send ``invalidate_nonces`` for ``nonces``; the transaction hashes, one per chunk."""
    hashes: list[str] = []
    for start in range(0, len(nonces), MAX_NONCES_PER_TRANSACTION):
        chunk = nonces[start : start + MAX_NONCES_PER_TRANSACTION]
        key = await rpc.call(
            "query",
            {
                "request_type": "view_access_key",
                "finality": FINALITY,
                "account_id": identity.account_id,
                "public_key": identity.signer.public_key,
            },
        )
        if not isinstance(key, dict) or "nonce" not in key or "block_hash" not in key:
            raise ChainUnavailableError("NEAR RPC view_access_key: no nonce or block hash")
        args = {"nonces": [base64.b64encode(n).decode() for n in chunk]}
        transaction = Transaction(
            signer_id=identity.account_id,
            public_key=identity.signer.public_key,
            nonce=int(key["nonce"]) + 1,
            receiver_id=identity.verifier_contract,
            block_hash=str(key["block_hash"]),
            actions=(
                FunctionCall(
                    method_name="invalidate_nonces",
                    args=json.dumps(args, separators=(",", ":")).encode(),
                    deposit=ONE_YOCTO,
                ),
            ),
        )
        signed = transaction.sign(identity.signer)
        await rpc.call(
            "send_tx", {"signed_tx_base64": signed.base64(), "wait_until": "EXECUTED_OPTIMISTIC"}
        )
        hashes.append(signed.hash)
    return hashes
