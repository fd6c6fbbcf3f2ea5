"""Quote latency: from the executor taking a command to its quote_response on the relay's wire.

Issue 12 defines it as *command consumed -> quote_response on the wire*, target p99 <= 10 ms at
20 commands/s: an auction closes in hundreds of milliseconds, and everything before the
executor (ingest, reactor, a bus hop) is measured by the pipeline steps already.

Both ends are the real thing, read from outside the executor:

- *consumed*: the ``received`` transition of the command's ledger entry, stamped by the
  executor when it classified the batch the command came in (right after ``getmany``
  returned it and the in-flight window had room). The bench reads it from the ledger topic,
  where the executor writes it anyway, so nothing is added to the executor for measuring.
- *on the wire*: the NEAR stand-in (its own process, the relay's real websocket protocol)
  stamps each quote_response frame as soon as the websocket library hands it over, before
  parsing its JSON (``FakeRelay.arrivals``), and reports the stamps over its JSON-RPC port.

Both are wall-clock times on the same machine. Between them: the ledger's ``executing`` write
(acks=all, the point of no return), building and signing the NEP-413 answer, the websocket
send, and the stand-in's own scheduling. ``published_to_wire_ms`` adds the bus hop before the
executor, for comparison with the pipeline's figures.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka.structs import ConsumerRecord
from unrip.contracts import utc_now
from unrip.runtime.kafka import Outgoing, make_producer, publish_all
from unrip.runtime.settings import ServiceSettings
from unrip.topics import CMD_EXECUTE_TRADE, STATE_EXECUTOR_LEDGER

from unrip_dev.bench.stats import Distribution
from unrip_dev.bench.tap import TopicTap
from unrip_dev.broker import free_port
from unrip_dev.commands import synthetic_command
from unrip_dev.supervisor import Supervisor, local_signer
from unrip_dev.venues.near_intents.standin_process import NearStandin

# The target for the p99, and the rate it names.
P99_TARGET_MS = 10.0
RATE_PER_S = 20.0
# A command's deadline after it is sent, and how long its signed quote stays valid: long
# enough that none expires on a loaded machine, short enough that losing quotes settle (and
# leave the executor's window) within the run.
_DEADLINE = timedelta(seconds=10)
_QUOTE_VALIDITY_MS = 5_000
_FILL_SHARE = 0.3


@dataclass(frozen=True, slots=True)
class QuoteLatency:
    """Per quote id, the measured ends; what is missing on either side is counted, not guessed."""

    consumed_ms: Distribution  # executor took the command -> quote_response at the relay
    published_ms: Distribution  # bench's produce acknowledged -> quote_response at the relay
    matched: int
    missing_on_wire: int  # consumed, but no quote_response arrived
    missing_consumed: int  # answered, but no ledger entry seen

    @classmethod
    def of(
        cls,
        consumed: Mapping[str, float],
        on_wire: Mapping[str, float],
        published: Mapping[str, float] | None = None,
    ) -> QuoteLatency:
        """From epoch-second stamps keyed by quote id (``published`` optional)."""
        both = consumed.keys() & on_wire.keys()
        published = published or {}
        return cls(
            consumed_ms=Distribution.of([(on_wire[q] - consumed[q]) * 1000 for q in both]),
            published_ms=Distribution.of(
                [(on_wire[q] - published[q]) * 1000 for q in on_wire.keys() & published.keys()]
            ),
            matched=len(both),
            missing_on_wire=len(consumed.keys() - on_wire.keys()),
            missing_consumed=len(on_wire.keys() - consumed.keys()),
        )


def consumed_at(record: ConsumerRecord) -> tuple[str, float] | None:
    """(quote id, epoch seconds the executor received the command) from a ledger record.

    Plain JSON, not the contract's models: the tap shares the machine with what it measures.
    None for anything else (another run's entry, a reject without its command).
    """
    try:
        payload = json.loads(record.value or b"")["payload"]
        quote_id = payload["command"]["quote_id"]
        received = next(t["at"] for t in payload["transitions"] if t["state"] == "received")
        return str(quote_id), datetime.fromisoformat(received).timestamp()
    except (ValueError, KeyError, TypeError, StopIteration):
        return None


@dataclass
class _Consumed:
    prefix: str
    stamps: dict[str, float] = field(default_factory=dict)

    def on_record(self, record: ConsumerRecord, _arrived: float) -> None:
        found = consumed_at(record)
        if found is not None and found[0].startswith(self.prefix):
            self.stamps.setdefault(*found)


async def time_quote_latency(
    settings: ServiceSettings,
    env: dict[str, str],
    run_dir: Path,
    run_id: str,
    commands: int,
    *,
    warmup: int,
    timeout_s: float,
    rate_per_s: float = RATE_PER_S,
) -> dict[str, Any]:
    """Send ``warmup + commands`` signed commands at ``rate_per_s`` to one NEAR executor."""
    prefix = f"{run_id}-quote"
    load_before = os.getloadavg()
    near = await asyncio.to_thread(NearStandin.start, run_dir, _FILL_SHARE)
    supervisor = Supervisor(run_dir, env)
    consumed = _Consumed(prefix)
    tap = TopicTap(settings, STATE_EXECUTOR_LEDGER, consumed.on_record)
    exit_codes: dict[str, int | None] = {}
    try:
        supervisor.spawn("executor-near", "executor", free_port(), near.executor_env())
        problems = await asyncio.to_thread(supervisor.wait_ready, ["executor-near"], 60)
        if problems:
            raise RuntimeError("NEAR executor did not start: " + "; ".join(problems))
        await tap.start()
        published = await _send(settings, prefix, warmup + commands, rate_per_s)
        on_wire = await _wait_for_answers(near, prefix, consumed, warmup + commands, timeout_s)
    finally:
        await tap.stop()
        exit_codes = await asyncio.to_thread(supervisor.stop_all, 20)
        await asyncio.to_thread(near.stop)
    measured = {f"{prefix}-{n}" for n in range(warmup, warmup + commands)}
    _write_samples(run_dir / "quote-latency.csv", measured, published, consumed.stamps, on_wire)
    latency = QuoteLatency.of(
        {q: t for q, t in consumed.stamps.items() if q in measured},
        {q: t for q, t in on_wire.items() if q in measured},
        published,
    )
    p99 = latency.consumed_ms.p99
    return {
        "rate_per_s": rate_per_s,
        "commands": commands,
        "warmup_commands": warmup,
        "answered": latency.matched,
        "missing_on_wire": latency.missing_on_wire,
        "missing_consumed": latency.missing_consumed,
        "consumed_to_wire_ms": latency.consumed_ms.rounded(),
        "published_to_wire_ms": latency.published_ms.rounded(),
        "p99_target_ms": P99_TARGET_MS,
        "p99_target_met": None if p99 is None else p99 <= P99_TARGET_MS,
        "load_average": {
            "before": [round(x, 2) for x in load_before],
            "after": [round(x, 2) for x in os.getloadavg()],
        },
        "clean_exit": all(code == 0 for code in exit_codes.values()),
    }


def _write_samples(
    path: Path,
    quote_ids: set[str],
    published: Mapping[str, float],
    consumed: Mapping[str, float],
    on_wire: Mapping[str, float],
) -> None:
    """Every measured command's three stamps (epoch seconds, empty when missing), for a
    closer look at a tail than two percentiles give."""
    with path.open("w", newline="") as out:
        rows = csv.writer(out)
        rows.writerow(["quote_id", "published", "consumed", "on_wire"])
        for quote_id in sorted(quote_ids, key=lambda q: int(q.rpartition("-")[2])):
            stamps = (published.get(quote_id), consumed.get(quote_id), on_wire.get(quote_id))
            rows.writerow([quote_id, *("" if t is None else f"{t:.6f}" for t in stamps)])


async def _send(
    settings: ServiceSettings, prefix: str, count: int, rate_per_s: float
) -> dict[str, float]:
    """Produce the commands one by one on a fixed schedule; quote id -> produce acknowledged."""
    signer = local_signer()
    producer = make_producer(settings, "bench-quotes")
    await producer.start()
    acknowledged: dict[str, float] = {}
    loop = asyncio.get_running_loop()
    start = loop.time()
    try:
        for n in range(count):
            # An absolute schedule: a late send does not shift the ones after it.
            await asyncio.sleep(max(0.0, start + n / rate_per_s - loop.time()))
            envelope = synthetic_command(
                n,
                now=utc_now(),
                deadline=_DEADLINE,
                run_id=prefix,
                quote_validity_ms=_QUOTE_VALIDITY_MS,
            )
            outgoing = Outgoing(
                CMD_EXECUTE_TRADE,
                envelope.payload.command_id,
                envelope,
                headers=signer.headers(envelope),
            )
            await publish_all(producer, [outgoing])
            acknowledged[envelope.payload.quote_id] = time.time()
    finally:
        await producer.stop()
    return acknowledged


async def _wait_for_answers(
    near: NearStandin, prefix: str, consumed: _Consumed, count: int, timeout_s: float
) -> dict[str, float]:
    """The relay's arrival stamps, once every command is answered and seen in the ledger (or
    at ``timeout_s``: what arrived by then is measured, the rest is reported missing)."""
    deadline = time.monotonic() + timeout_s
    while True:
        on_wire = await asyncio.to_thread(near.quote_arrivals, prefix)
        done = len(on_wire) >= count and len(consumed.stamps) >= count
        if done or time.monotonic() >= deadline:
            return on_wire
        await asyncio.sleep(0.2)  # polling another process's counters, not synchronisation
