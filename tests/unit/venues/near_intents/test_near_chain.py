"""The NEAR RPC client and the recall against a local node speaking NEAR's JSON-RPC."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from unrip.venues.near_intents.chain import ChainUnavailableError, NearRpc
from unrip.venues.near_intents.nep413 import Ed25519Signer, legacy_nonce
from unrip.venues.near_intents.quote_response import SolverIdentity
from unrip.venues.near_intents.recall import MAX_NONCES_PER_TRANSACTION, invalidate_nonces
from unrip.venues.near_intents.transaction import FunctionCall, Transaction
from unrip_dev.venues.near_intents.fake_rpc import FakeNearRpc

ACCOUNT = "solver.near"
IDENTITY = SolverIdentity(
    account_id=ACCOUNT,
    signer=Ed25519Signer.generate(),
    verifier_contract="intents.near",
    nonce_salt=None,
)


@pytest.fixture
async def node() -> AsyncIterator[FakeNearRpc]:
    async with FakeNearRpc() as fake:
        yield fake


@pytest.fixture
async def rpc(node: FakeNearRpc) -> AsyncIterator[NearRpc]:
    client = NearRpc(node.url)
    yield client
    await client.close()


def b64(nonce: bytes) -> str:
    return base64.b64encode(nonce).decode()


async def test_a_used_nonce_reads_as_used_and_another_as_unused(
    node: FakeNearRpc, rpc: NearRpc
) -> None:
    used, unused = legacy_nonce("order-1"), legacy_nonce("order-2")
    node.state.mark_used(ACCOUNT, b64(used))

    assert await rpc.is_nonce_used("intents.near", ACCOUNT, used) is True
    assert await rpc.is_nonce_used("intents.near", ACCOUNT, unused) is False


async def test_the_view_call_is_made_at_final_finality_with_base64_json_args(
    node: FakeNearRpc, rpc: NearRpc
) -> None:
    nonce = legacy_nonce("order-1")
    await rpc.is_nonce_used("intents.near", ACCOUNT, nonce)

    [call] = node.calls
    assert call["method"] == "query"
    params = call["params"]
    assert params["request_type"] == "call_function" and params["finality"] == "final"
    assert params["account_id"] == "intents.near" and params["method_name"] == "is_nonce_used"
    args = json.loads(base64.b64decode(params["args_base64"]))
    assert args == {"account_id": ACCOUNT, "nonce": b64(nonce)}


async def test_a_node_that_is_down_means_the_answer_is_unknown(
    node: FakeNearRpc, rpc: NearRpc
) -> None:
    node.available = False
    with pytest.raises(ChainUnavailableError, match="HTTP 503"):
        await rpc.is_nonce_used("intents.near", ACCOUNT, legacy_nonce("order-1"))


async def test_an_rpc_error_means_the_answer_is_unknown(node: FakeNearRpc, rpc: NearRpc) -> None:
    with pytest.raises(ChainUnavailableError, match="UNKNOWN_ACCOUNT"):
        await rpc.is_nonce_used("not-the-verifier.near", ACCOUNT, legacy_nonce("order-1"))


async def test_an_unreachable_node_means_the_answer_is_unknown() -> None:
    rpc = NearRpc("http://127.0.0.1:9", timeout_s=1)
    try:
        with pytest.raises(ChainUnavailableError, match="ConnectError"):
            await rpc.is_nonce_used("intents.near", ACCOUNT, legacy_nonce("order-1"))
    finally:
        await rpc.close()


async def test_a_recall_marks_every_nonce_used_with_a_signed_transaction(
    node: FakeNearRpc, rpc: NearRpc
) -> None:
    nonces = [legacy_nonce(f"order-{i}") for i in range(3)]

    hashes = await invalidate_nonces(rpc, IDENTITY, nonces)

    assert len(hashes) == 1
    [transaction] = node.transactions
    assert transaction["signer_id"] == ACCOUNT
    [action] = transaction["actions"]
    assert action["method_name"] == "invalidate_nonces" and action["deposit"] == 1
    for nonce in nonces:
        assert await rpc.is_nonce_used("intents.near", ACCOUNT, nonce) is True


async def test_a_recall_uses_the_access_keys_next_nonce(node: FakeNearRpc, rpc: NearRpc) -> None:
    node.access_key_nonce = 41
    await invalidate_nonces(rpc, IDENTITY, [legacy_nonce("a")])
    await invalidate_nonces(rpc, IDENTITY, [legacy_nonce("b")])
    assert node.access_key_nonce == 43


async def test_a_large_recall_is_split_into_several_transactions(
    node: FakeNearRpc, rpc: NearRpc
) -> None:
    nonces = [legacy_nonce(f"order-{i}") for i in range(MAX_NONCES_PER_TRANSACTION + 1)]
    hashes = await invalidate_nonces(rpc, IDENTITY, nonces)
    assert len(hashes) == len(node.transactions) == 2
    assert len(node.state.invalidated) == len(nonces)


async def test_a_transaction_signed_by_another_key_is_refused(node: FakeNearRpc) -> None:
    transaction = Transaction(
        signer_id=ACCOUNT,
        public_key=Ed25519Signer.generate().public_key,
        nonce=1,
        receiver_id="intents.near",
        block_hash="11111111111111111111111111111111",
        actions=(FunctionCall(method_name="invalidate_nonces", args=b"{}", deposit=1),),
    )
    signed = transaction.sign(IDENTITY.signer)  # not the key the transaction names
    rpc = NearRpc(node.url)
    try:
        with pytest.raises(ChainUnavailableError, match="INVALID_TRANSACTION"):
            await rpc.call("send_tx", {"signed_tx_base64": signed.base64()})
    finally:
        await rpc.close()
    assert node.transactions == []


async def test_a_settlement_is_dated_by_the_block_of_its_receipt_on_the_verifier(
    node: FakeNearRpc, rpc: NearRpc
) -> None:
    block = node.state.record_execution("tx-9", 1_800_000_000_123_456_000)

    at = await rpc.execution_time("tx-9", "relay.near", "intents.near")

    assert at == datetime(2027, 1, 15, 8, 0, 0, 123456, tzinfo=UTC)
    tx, header = node.calls[-2:]
    assert (tx["method"], tx["params"]["sender_account_id"]) == ("tx", "relay.near")
    assert (header["method"], header["params"]) == ("block", {"block_id": block})


async def test_a_settlement_the_node_does_not_know_cannot_be_dated(rpc: NearRpc) -> None:
    with pytest.raises(ChainUnavailableError, match="UNKNOWN_TRANSACTION"):
        await rpc.execution_time("tx-unknown", "relay.near", "intents.near")
