"""Restoring the executor's ledger, timed the way a reassignment does it.

A partition of ``state.executor_ledger`` is filled with N finished commands (each written as
``executing``, then ``executed`` with a stored result, as the executor writes them), then a
fresh ``Ledger`` (no local cache, like a new owner) restores it with the executor's own code:
read to the end, decode every record, keep the latest state per command.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from unrip.contracts import LedgerEntryV1, LedgerState, TradeStatus, utc_now
from unrip.executor import states
from unrip.executor.ledger import Ledger
from unrip.executor.results import result_envelope
from unrip.runtime.kafka import make_consumer, make_producer
from unrip.runtime.settings import ServiceSettings

from unrip_dev.commands import synthetic_command

PARTITION = 0
_BATCH = 500  # entries per write, about what one executor batch records


def _finished(n: int) -> tuple[LedgerEntryV1, LedgerEntryV1]:
    """Command ``n``'s two ledger records: ``executing``, then ``executed`` with its result."""
    now = utc_now()
    envelope = synthetic_command(n, now=now, deadline=timedelta(minutes=30), run_id="restore")
    command = envelope.payload
    entry = states.receive_envelope(envelope, at=now, by="bench")
    executing = states.advance(entry, LedgerState.EXECUTING, at=now, by="bench")
    result = result_envelope(
        command,
        venue=envelope.venue,
        execution_venue="paper",
        command_event_id=envelope.event_id,
        correlation_id=envelope.correlation_id,
        status=TradeStatus.FILLED,
        at=now,
    )
    executed = states.advance(
        executing, LedgerState.EXECUTED, at=now, by="bench", result_json=result.to_bytes().decode()
    )
    return executing, executed


async def time_restore(settings: ServiceSettings, entries: int) -> dict[str, Any]:
    producer = make_producer(settings, "bench-ledger")
    writer_reader = make_consumer(settings, "bench-ledger-writer", None)
    reader = make_consumer(settings, "bench-ledger-restore", None)
    for client in (producer, writer_reader, reader):
        await client.start()
    try:
        writer = Ledger(producer, writer_reader)
        for start in range(0, entries, _BATCH):
            pairs = [_finished(n) for n in range(start, min(start + _BATCH, entries))]
            await writer.write([(PARTITION, executing) for executing, _ in pairs])
            await writer.write([(PARTITION, executed) for _, executed in pairs])
        report = await Ledger(producer, reader).restore([PARTITION])
    finally:
        for client in (reader, writer_reader, producer):
            await client.stop()
    return {
        "partition": PARTITION,
        "entries": report.entries,
        "records_read": report.records_read,
        "seconds": round(report.seconds, 3),
        "entries_per_s": round(report.entries / report.seconds, 1) if report.seconds else None,
    }
