"""The baseline: a bare aiokafka relay (consume, produce, commit) and its message format.

``python -m unrip_dev.bench.relay --source T1 --target T2 --group G --slot N``

It uses the same clients and knobs as the services (``unrip.runtime.kafka``, configured by the
same ``UNRIP_KAFKA_*`` variables) and the same at-least-once loop as ``runtime.consumer``:
offsets are committed only after the relayed records are acknowledged (acks=all). It does
nothing else: no envelopes, no validation, no decisions. What the pipeline costs beyond this
is what unrip adds to the bus.

A message is a fixed-size byte string: a header of big-endian int64 fields (step, sequence,
then one nanosecond timestamp per stage) and zero padding. Each relay writes its receive time
into its own slot, so the size never changes along the chain.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import struct
import time
from collections.abc import Sequence

from aiokafka.structs import OffsetAndMetadata
from unrip.runtime.kafka import make_consumer, make_producer
from unrip.runtime.service import loop_factory
from unrip.runtime.settings import ServiceSettings

log = logging.getLogger(__name__)

_FIELD = struct.Struct(">q")
STEP, SEQUENCE, SENT = 0, 1, 2  # field indexes; relay slots follow SENT
FIELDS = 6
HEADER_BYTES = FIELDS * _FIELD.size


def message(size: int, step: int, sequence: int, sent_ns: int) -> bytes:
    """A message of ``size`` bytes (at least the header) stamped as sent at ``sent_ns``."""
    header = struct.pack(">" + "q" * FIELDS, step, sequence, sent_ns, 0, 0, 0)
    return header + bytes(max(0, size - HEADER_BYTES))


def stamp(value: bytes, field: int, ns: int) -> bytes:
    """``value`` with ``field`` set to ``ns``; same length."""
    at = field * _FIELD.size
    return value[:at] + _FIELD.pack(ns) + value[at + _FIELD.size :]


def fields(value: bytes) -> tuple[int, ...]:
    return struct.unpack_from(">" + "q" * FIELDS, value)


async def relay(
    settings: ServiceSettings, source: str, target: str, group: str, slot: int, stop: asyncio.Event
) -> None:
    """Relay ``source`` to ``target`` until ``stop``; the batch in progress is committed."""
    consumer = make_consumer(settings, "bench-relay", group)
    producer = make_producer(settings, "bench-relay")
    await producer.start()
    await consumer.start()
    try:
        consumer.subscribe([source])
        while not stop.is_set():
            batch = await consumer.getmany(
                timeout_ms=100, max_records=settings.kafka_max_poll_records
            )
            if not batch:
                continue
            received = time.time_ns()
            acks = []
            for records in batch.values():
                for record in records:
                    acks.append(
                        await producer.send(
                            target, value=stamp(record.value, slot, received), key=record.key
                        )
                    )
            await asyncio.gather(*acks)
            await consumer.commit(
                {tp: OffsetAndMetadata(records[-1].offset + 1, "") for tp, records in batch.items()}
            )
    finally:
        await consumer.stop()
        await producer.stop()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="bare aiokafka relay (the benchmark baseline)")
    parser.add_argument("--source", required=True)
    parser.add_argument("--target", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--slot", type=int, required=True, choices=range(SENT + 1, FIELDS))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    settings = ServiceSettings()

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await relay(settings, args.source, args.target, args.group, args.slot, stop)

    # The services' event loop, so that the baseline compares like with like.
    with asyncio.Runner(loop_factory=loop_factory(settings)) as runner:
        runner.run(run())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
