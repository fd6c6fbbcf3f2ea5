"""The archive's throughput: the archiver draining a backlog into Parquet, and replay of that
archive into scratch topics and through the reactor, on the same broker software as the
baseline relay.

A backlog of demand envelopes is written first; then the archiver (its own process, production
settings) drains it. Its rate is taken over the middle 80 % of the records, by when each file
that holds them appeared (process start-up and group join excluded, as for the relay).
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from unrip.contracts import SwapDemandV1, make_envelope
from unrip.runtime.kafka import Outgoing, make_producer, publish_all
from unrip.runtime.settings import ServiceSettings
from unrip.topics import NORM_SWAP_DEMAND, demand_key

from unrip_dev.archive import archive_counts, read_window
from unrip_dev.archive_run import archiver_env
from unrip_dev.bench.stats import middle_rate
from unrip_dev.broker import free_port
from unrip_dev.replay import publish, through_reactor
from unrip_dev.supervisor import Supervisor

_WNEAR = "nep141:wrap.near"
_USDT = "nep141:usdt.tether-token.near"
_BATCH = 1000


def _demands(start: int, count: int, run_id: str) -> list[Outgoing]:
    now = datetime.now(UTC)
    out = []
    for n in range(start, start + count):
        demand = SwapDemandV1(
            quote_id=f"{run_id}-{n}",
            asset_in=_WNEAR,
            asset_out=_USDT,
            exact_amount_in=10 * 10**24,
            exact_amount_out=None,
            deadline=now + timedelta(minutes=30),
            min_deadline_ms=60_000,
        )
        envelope = make_envelope(demand, venue="near_intents", observed_at=now)
        out.append(
            Outgoing(NORM_SWAP_DEMAND, demand_key("near_intents", demand.quote_id), envelope)
        )
    return out


async def time_archive(
    settings: ServiceSettings, env: dict[str, str], run_dir: Path, events: int, timeout_s: float
) -> dict[str, Any]:
    producer = make_producer(settings, "bench-archive")
    await producer.start()
    try:
        for start in range(0, events, _BATCH):
            await publish_all(producer, _demands(start, min(_BATCH, events - start), run_dir.name))
    finally:
        await producer.stop()

    root = run_dir / "archive"
    supervisor = Supervisor(run_dir, env)
    supervisor.spawn(
        "archiver",
        "archiver",
        free_port(),
        archiver_env(root) | {"UNRIP_ARCHIVER_TOPICS": "norm.*"},
    )
    times: list[float] = []
    deadline = time.monotonic() + timeout_s
    try:
        while len(times) < events and time.monotonic() < deadline:
            seen = archive_counts(root)[NORM_SWAP_DEMAND]
            times += [time.monotonic()] * (seen - len(times))
            await asyncio.sleep(0.05)  # sampling the archive directory for new files
    finally:
        exit_codes = supervisor.stop_all(timeout_s=20)
    records = read_window(root, [NORM_SWAP_DEMAND], None, None)
    scratch = await publish(records, settings.kafka_bootstrap_servers, prefix="replay.")
    reactor = await through_reactor(records)
    return {
        "events": events,
        "archived": len(times),
        "archiver_events_per_s": _round(middle_rate(times)),
        "replay_to_topics_events_per_s": scratch["events_per_s"],
        "replay_through_reactor_events_per_s": reactor["events_per_s"],
        "clean_exit": all(code == 0 for code in exit_codes.values()),
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)
