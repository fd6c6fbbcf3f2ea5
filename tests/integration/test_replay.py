"""Replay and restore from the archive, on real brokers: a restored bus equals the lost one
record for record, and replaying through the reactor gives the same command ids every time."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from pathlib import Path

from unrip.archiver.settings import ArchiverSettings
from unrip.runtime.kafka import ensure_topics
from unrip.runtime.replay import read_to_end
from unrip.topics import CATALOGUE
from unrip_dev.archive import read_window
from unrip_dev.archive_run import archiver_env, wait_archived
from unrip_dev.broker import TansuBroker, free_port
from unrip_dev.replay import publish, read_retained, through_reactor
from unrip_dev.supervisor import Supervisor

from tests.integration.helpers import eventually, static_strategy
from tests.integration.test_pipeline import SAMPLE

ARCHIVED = ArchiverSettings().topics()
Log = dict[tuple[str, int], list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]]]


async def partition_logs(bootstrap: str, prefix: str = "") -> Log:
    """Every archived topic's partitions, in order: key, value and headers of each record."""
    logs: Log = defaultdict(list)
    topics = [prefix + t for t in ARCHIVED]
    async for r in read_to_end(bootstrap, topics):
        logs[(r.topic.removeprefix(prefix), r.partition)].append(
            (r.key, r.value or b"", list(r.headers or ()))
        )
    return dict(logs)


def differences(restored: Log, original: Log) -> list[str]:
    """Where two buses' logs differ, partition by partition, in a line each (pytest's full diff
    of thousands of records is unreadable and gets cut off in CI)."""
    found = []
    for tp in sorted(set(restored) | set(original)):
        mine, theirs = restored.get(tp, []), original.get(tp, [])
        if mine == theirs:
            continue
        first = next(
            (i for i, (a, b) in enumerate(zip(mine, theirs, strict=False)) if a != b),
            min(len(mine), len(theirs)),
        )
        found.append(f"{tp}: {len(mine)} records, {len(theirs)} lost; first difference at {first}")
    return found


async def test_topics_restored_from_the_archive_equal_the_lost_ones_record_for_record(
    broker: TansuBroker, services: Supervisor, tmp_path: Path
) -> None:
    root = tmp_path / "archive"
    feed = tmp_path / "feed.jsonl"
    feed.write_text("\n".join(SAMPLE.read_text().splitlines()[:120]) + "\n")
    venue = services.spawn_paper_venue(tmp_path / "venue.sqlite")
    services.spawn_executor("executor", venue.url)
    strategy = static_strategy(tmp_path / "strategy.yaml")  # trades without a price feed
    services.spawn(
        "reactor", "reactor", free_port(), {"UNRIP_REACTOR_STRATEGY_FILE": str(strategy)}
    )
    services.spawn("archiver", "archiver", free_port(), archiver_env(root, quick=True))
    assert services.wait_ready(["paper-venue", "executor", "reactor", "archiver"], 60) == []
    services.spawn(
        "ingest",
        "ingest",
        free_port(),
        {"UNRIP_INGEST_FEED_PATH": str(feed), "UNRIP_INGEST_FEED_PACE": "fast"},
    )

    async def results() -> int:
        logs = await partition_logs(broker.bootstrap_servers)
        return sum(len(v) for (t, _), v in logs.items() if t == "exec.trade_result")

    async def commands() -> int:
        logs = await partition_logs(broker.bootstrap_servers)
        return sum(len(v) for (t, _), v in logs.items() if t == "cmd.execute_trade")

    expected = await eventually(commands, lambda n: n > 50, timeout_s=90, what="commands")
    await eventually(results, lambda n: n >= expected, timeout_s=90, what="every result")
    services.stop(["ingest", "executor", "reactor"], timeout_s=20)
    archived = await asyncio.to_thread(wait_archived, broker.bootstrap_servers, root, 60)
    assert archived["complete"], archived
    original = await partition_logs(broker.bootstrap_servers)

    # The volume is lost: a new, empty broker; the topics come back from the archive.
    with TansuBroker(log=(tmp_path / "broker2.log").open("ab")) as fresh:
        await ensure_topics(fresh.bootstrap_servers, CATALOGUE)
        records = read_window(root, ARCHIVED, None, None)
        await publish(records, fresh.bootstrap_servers, prefix="")
        restored = await partition_logs(fresh.bootstrap_servers)
        assert not differences(restored, original), differences(restored, original)
        # A second restore into the now non-empty topics is refused, not duplicated.
        try:
            await publish(records, fresh.bootstrap_servers, prefix="")
        except ValueError as exc:
            assert "already hold records" in str(exc)
        else:
            raise AssertionError("a restore into non-empty topics was not refused")
        # Replay into scratch topics: the same records under a prefix.
        await publish(records, fresh.bootstrap_servers, prefix="replay.")
        replayed = await partition_logs(fresh.bootstrap_servers, "replay.")
        assert not differences(replayed, original), differences(replayed, original)

    # The bus's retained range reads as the same records as the archive.
    retained = await read_retained(broker.bootstrap_servers, ARCHIVED, None, None)
    key = lambda r: (r.topic, r.partition, r.offset, r.value)  # noqa: E731
    assert sorted(map(key, retained)) == sorted(map(key, records))

    # Through the production reactor, twice: the same command ids, byte for byte.
    first = await through_reactor(records, strategy)
    second = await through_reactor(records, strategy)
    assert first["command_ids_sha256"] == second["command_ids_sha256"]
    assert first["commands"] > 0  # trades were decided, not only skipped
    assert first["commands"] + first["skips"] == sum(
        len(v) for (t, _), v in original.items() if t == "norm.swap_demand"
    )
