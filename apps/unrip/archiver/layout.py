"""Where a record lives in the archive: Hive-style partitions and offset-ranged file names.

``topic=<name>/date=<YYYY-MM-DD>/hour=<HH>/p<partition>-<first offset>-<last offset>.parquet``.
The name alone says which records a file holds, so the archive itself records how far each
partition has been archived (what a restarted archiver skips), and a rewrite of the same range
lands on the same name with the same bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

_FILE = re.compile(r"^p(\d{3,})-(\d{20})-(\d{20})\.parquet$")


@dataclass(frozen=True, slots=True, kw_only=True)
class FileName:
    partition: int
    first_offset: int
    last_offset: int

    def __str__(self) -> str:
        return f"p{self.partition:03d}-{self.first_offset:020d}-{self.last_offset:020d}.parquet"

    @classmethod
    def parse(cls, name: str) -> FileName | None:
        match = _FILE.match(name)
        if match is None:
            return None
        partition, first, last = (int(g) for g in match.groups())
        return cls(partition=partition, first_offset=first, last_offset=last)


def topic_dir(root: str, topic: str) -> str:
    return f"{root.rstrip('/')}/topic={topic}"


def hour_dir(root: str, topic: str, hour: datetime) -> str:
    return f"{topic_dir(root, topic)}/date={hour:%Y-%m-%d}/hour={hour:%H}"
