"""Hostile input for the soak: relay frames for the feed and records written onto the bus.

Each kind is something a broken or malicious producer can really send, and each has the DLQ
reason the pipeline must give it (``EXPECTED_REASONS``): nothing here may crash a consumer,
block a partition or stop an executor.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaProducer
from unrip.contracts import encode
from unrip.runtime.partitioning import partition_for
from unrip.topics import (
    CMD_EXECUTE_TRADE,
    EXEC_TRADE_RESULT,
    EXECUTION_PARTITIONS,
    NORM_SWAP_DEMAND,
    STATE_EXECUTOR_LEDGER,
)

from unrip_dev.commands import synthetic_command
from unrip_dev.supervisor import local_signer

DEEP = 100_000  # "[" x 100,000: RecursionError in the standard library's json


def _quote_frame(**fields: object) -> str:
    data: dict[str, object] = {
        "quote_id": "hostile",
        "defuse_asset_identifier_in": "nep141:wrap.near",
        "defuse_asset_identifier_out": "nep141:usdt.tether-token.near",
        "exact_amount_in": "1000000000000000000000000",
        "min_deadline_ms": 60_000,
    }
    data.update(fields)
    message = {"jsonrpc": "2.0", "method": "event", "params": {"subscription": "s", "data": data}}
    return json.dumps(message, separators=(",", ":"))


def relay_frames() -> list[str]:
    """Frames spliced into the soak's feed; the ingest must dead-letter each one."""
    return [
        "[" * DEEP,  # too_deep
        '{"method":"event","params":' + '{"a":' * DEEP,  # too_deep, inside an event
        '{"quote_id":' + "[" * DEEP,  # too_deep, and a looping feed's relabel must survive it
        _quote_frame(padding="x" * 300_000),  # too_large (a 300 kB frame)
        _quote_frame(quote_id="q" * 600_000),  # too_large: the 600 kB quote id
        _quote_frame(quote_id="q" * 1000),  # field_too_long
        _quote_frame(exact_amount_in=str(1 << 129)),  # amount_out_of_range (> u128)
        _quote_frame(min_deadline_ms=10**11),  # bad_min_deadline (validity window)
        _quote_frame(defuse_asset_identifier_in="nep245:c.near:" + "t" * 2000),  # too long
    ]


@dataclass(frozen=True, slots=True)
class BusRecord:
    topic: str
    value: bytes
    key: bytes | None = None
    partition: int | None = None
    headers: tuple[tuple[str, bytes], ...] = ()


def _unknown_version(event_type: str) -> bytes:
    return json.dumps({"event_type": event_type, "schema_version": 99, "payload": {}}).encode()


def bus_records(burst: int) -> list[BusRecord]:
    """One burst of hostile records for the topics the services consume."""
    now = datetime.now(UTC)
    command = synthetic_command(
        burst, now=now, deadline=timedelta(minutes=5), run_id=f"hostile{burst}"
    )
    command_id = command.payload.command_id
    value, headers = encode(command)
    # Misplaced commands carry the reactor's genuine MAC: the key/partition gate must catch
    # them on its own. The forged one (another client order id) has no MAC it could have.
    headers = [*headers, *local_signer().headers(command)]
    home = partition_for(command_id, EXECUTION_PARTITIONS)
    forged = command.model_copy(
        update={"payload": command.payload.model_copy(update={"client_order_id": "u" + "0" * 31})}
    )
    forged_value, forged_headers = encode(forged)
    oversized = json.dumps(
        {"event_type": "swap_demand", "schema_version": 1, "payload": {"quote_id": "q" * 900_000}}
    ).encode()
    return [
        BusRecord(NORM_SWAP_DEMAND, b"[" * DEEP),
        BusRecord(NORM_SWAP_DEMAND, oversized),  # invalid; its DLQ copy must fit the limit
        BusRecord(NORM_SWAP_DEMAND, _unknown_version("swap_demand")),
        BusRecord(CMD_EXECUTE_TRADE, b'{"a":' * DEEP, key=b"deep"),
        BusRecord(CMD_EXECUTE_TRADE, _unknown_version("execute_trade"), key=b"v99"),
        BusRecord(CMD_EXECUTE_TRADE, value, key=b"not-its-id", headers=tuple(headers)),
        BusRecord(
            CMD_EXECUTE_TRADE,
            value,
            key=command_id.encode(),
            partition=(home + 1) % EXECUTION_PARTITIONS,
            headers=tuple(headers),
        ),
        BusRecord(
            CMD_EXECUTE_TRADE,
            forged_value,
            key=command_id.encode(),
            partition=home,
            headers=tuple(forged_headers),
        ),
        BusRecord(EXEC_TRADE_RESULT, _unknown_version("trade_result"), key=b"v99"),
    ]


# The reasons the bursts must produce, by DLQ topic (the feed's frames add the ingest's).
EXPECTED_REASONS = {
    "dlq.norm.swap_demand": {"too_deep", "invalid", "unknown_schema_version"},
    "dlq.cmd.execute_trade": {
        "too_deep",
        "unknown_schema_version",
        "key_mismatch",
        "partition_mismatch",
        "unauthenticated",
    },
    "dlq.exec.trade_result": {"unknown_schema_version"},
    "dlq.raw.near_intents.quote": {
        "too_deep",
        "too_large",
        "field_too_long",
        "amount_out_of_range",
        "bad_min_deadline",
    },
}


def unreadable_ledger_record() -> BusRecord:
    """A ledger record no executor can read: the next restore must quarantine it."""
    return BusRecord(STATE_EXECUTOR_LEDGER, b"[" * DEEP, key=b"corrupt", partition=0)


async def send(producer: AIOKafkaProducer, records: list[BusRecord]) -> None:
    for record in records:
        await asyncio.wait_for(_send(producer, record), 60)


async def _send(producer: AIOKafkaProducer, record: BusRecord) -> None:
    await producer.send_and_wait(
        record.topic,
        value=record.value,
        key=record.key,
        partition=record.partition,
        headers=list(record.headers),
    )
