"""Reading the archive back (dev tooling): records of a time window, counts per topic.

The archive is Hive-partitioned Parquet (unrip.archiver): ``topic=``/``date=``/``hour=``
directories, one row per record with its exact bytes in ``value``. Readers here see only
complete files (the archiver hides files in progress behind a leading dot).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.dataset as ds


@dataclass(frozen=True, slots=True, kw_only=True)
class ArchivedRecord:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: list[tuple[str, bytes]]
    at: datetime  # the event's observed_at, or the broker timestamp of a non-envelope


def _dataset(root: Path) -> ds.Dataset | None:
    if not root.is_dir() or not any(root.rglob("*.parquet")):
        return None
    return ds.dataset(str(root), format="parquet", partitioning="hive")


def archive_counts(root: Path) -> Counter[str]:
    """How many records each topic has in the archive."""
    dataset = _dataset(root)
    if dataset is None:
        return Counter()
    table = dataset.to_table(columns=["topic"])
    return Counter(
        {
            str(row["topic"]): int(row["count"])
            for row in table.group_by("topic")
            .aggregate([("topic", "count")])
            .rename_columns(["topic", "count"])
            .to_pylist()
        }
    )


def read_window(
    root: Path, topics: Sequence[str], start: datetime | None, end: datetime | None
) -> list[ArchivedRecord]:
    """Records of ``topics`` whose event time is in [start, end), in event-time order.

    Ties (same instant) keep the bus order: topic, partition, offset.
    """
    dataset = _dataset(root)
    if dataset is None:
        return []
    at = pc.coalesce(ds.field("observed_at"), ds.field("kafka_timestamp"))
    condition = ds.field("topic").isin(list(topics))
    if start is not None:
        condition = condition & (at >= start)
    if end is not None:
        condition = condition & (at < end)
    table = dataset.to_table(
        columns={
            "topic": ds.field("topic"),
            "partition": ds.field("partition"),
            "offset": ds.field("offset"),
            "key": ds.field("key"),
            "value": ds.field("value"),
            "headers": ds.field("headers"),
            "at": at,
        },
        filter=condition,
    )
    records = [
        ArchivedRecord(
            topic=str(row["topic"]),
            partition=row["partition"],
            offset=row["offset"],
            key=row["key"].encode() if row["key"] is not None else None,
            value=row["value"],
            headers=[(h["key"], h["value"]) for h in row["headers"]],
            at=row["at"],
        )
        for row in table.to_pylist()
    ]
    records.sort(key=lambda r: (r.at, r.topic, r.partition, r.offset))
    return records
