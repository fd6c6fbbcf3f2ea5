"""The archiver on the real broker: killed twice mid-stream, the archive still holds every
event of every archived topic exactly once, as DuckDB reads it back."""

from __future__ import annotations

import signal
from collections import Counter
from pathlib import Path

import duckdb
from unrip.archiver.settings import ArchiverSettings
from unrip.runtime.replay import read_to_end
from unrip_dev.broker import TansuBroker, free_port
from unrip_dev.supervisor import Child, Supervisor

from tests.integration.helpers import eventually, static_strategy
from tests.integration.test_pipeline import SAMPLE

ARCHIVED = ArchiverSettings().topics()


async def bus_counts(bootstrap: str) -> Counter[str]:
    return Counter([record.topic async for record in read_to_end(bootstrap, ARCHIVED)])


def archive_counts(root: Path) -> tuple[Counter[str], int]:
    """Records per topic in the archive, and how many (topic, partition, offset) repeat."""
    if not any(root.rglob("*.parquet")):
        return Counter(), 0
    table = f"read_parquet('{root}/**/*.parquet', hive_partitioning=true)"
    per_topic = Counter(
        {
            str(topic): int(n)
            for topic, n in duckdb.execute(
                f"SELECT topic, count(*) FROM {table} GROUP BY topic"
            ).fetchall()
        }
    )
    [(repeats,)] = duckdb.execute(
        f'SELECT count(*) - count(DISTINCT (topic, partition, "offset")) FROM {table}'
    ).fetchall()
    return per_topic, int(repeats)


def files(root: Path) -> set[Path]:
    return set(root.rglob("*.parquet"))


async def kill_once_it_has_written(archiver: Child, root: Path, before: set[Path]) -> None:
    # Killed only after this instance wrote a file: it has joined the group and is consuming
    # (a member killed mid-join would stay in Tansu's group for good, TOOLS.md).
    async def written() -> set[Path]:
        return files(root) - before

    await eventually(written, bool, timeout_s=60, what="the archiver writing a file")
    archiver.signal(signal.SIGKILL)
    assert archiver.process is not None
    assert archiver.process.wait() == -signal.SIGKILL
    archiver.start()


async def test_an_archiver_killed_twice_mid_stream_archives_every_event_exactly_once(
    broker: TansuBroker, services: Supervisor, tmp_path: Path
) -> None:
    root = tmp_path / "archive"
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join(SAMPLE.read_text().splitlines()[:300]) + "\n")
    venue = services.spawn_paper_venue(tmp_path / "venue.sqlite")
    services.spawn_executor("executor", venue.url)
    strategy = static_strategy(tmp_path / "strategy.yaml")  # trades without a price feed
    services.spawn(
        "reactor", "reactor", free_port(), {"UNRIP_REACTOR_STRATEGY_FILE": str(strategy)}
    )
    archiver = services.spawn(
        "archiver",
        "archiver",
        free_port(),
        {
            "UNRIP_ARCHIVER_URI": str(root),
            # Small, frequent files and lazy commits: kills land between a file and its
            # commit, so restarts see records redelivered that the archive already holds.
            "UNRIP_ARCHIVER_FETCH_MIN_BYTES": "1",
            "UNRIP_ARCHIVER_FETCH_MAX_WAIT_MS": "100",
            "UNRIP_ARCHIVER_MAX_POLL_RECORDS": "20",
            "UNRIP_KAFKA_COMMIT_INTERVAL_MS": "2000",
        },
    )
    assert services.wait_ready(["paper-venue", "executor", "reactor", "archiver"], 60) == []
    services.spawn(
        "ingest",
        "ingest",
        free_port(),
        {
            "UNRIP_INGEST_FEED_PATH": str(feed),
            "UNRIP_INGEST_FEED_PACE": "recorded",
            "UNRIP_NEAR_INTENTS_RESPONSE_WINDOW_MS": "60000",
        },
    )

    await kill_once_it_has_written(archiver, root, set())
    await kill_once_it_has_written(archiver, root, files(root))

    async def both() -> tuple[Counter[str], tuple[Counter[str], int]]:
        return await bus_counts(broker.bootstrap_servers), archive_counts(root)

    def caught_up(state: tuple[Counter[str], tuple[Counter[str], int]]) -> bool:
        bus, (archived, _) = state
        # The feed's 300 quotes are all on the bus, and the archive has caught up with it.
        return sum(bus[t] for t in ARCHIVED if t.startswith("raw.")) >= 290 and bus == archived

    bus, (archived, repeats) = await eventually(
        both, caught_up, timeout_s=120, what="the archive to hold what the bus holds"
    )
    assert repeats == 0
    assert archived == bus
    assert {t for t in bus} >= {"raw.near_intents.quote", "norm.swap_demand", "cmd.execute_trade"}
