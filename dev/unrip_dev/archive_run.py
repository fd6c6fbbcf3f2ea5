"""The archiver beside a local run: its environment, and waiting until it has caught up."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path
from typing import Any

from unrip.archiver.settings import ArchiverSettings
from unrip.runtime.replay import read_to_end

from unrip_dev.archive import archive_counts


def archiver_env(root: Path, *, quick: bool = False) -> dict[str, str]:
    """The archiver's variables for archiving into ``root``; ``quick``: short fetch waits."""
    env = {"UNRIP_ARCHIVER_URI": str(root)}
    if quick:
        # A local run is short: files every fraction of a second rather than every 2 s.
        env |= {"UNRIP_ARCHIVER_FETCH_MAX_WAIT_MS": "200", "UNRIP_ARCHIVER_FETCH_MIN_BYTES": "1"}
    return env


async def bus_counts(bootstrap_servers: str, topics: list[str]) -> Counter[str]:
    return Counter([r.topic async for r in read_to_end(bootstrap_servers, topics)])


def wait_archived(bootstrap_servers: str, root: Path, timeout_s: float) -> dict[str, Any]:
    """Wait until the archive holds as many records per topic as the bus; report both."""
    topics = ArchiverSettings(archiver_uri=str(root)).topics()
    bus = asyncio.run(bus_counts(bootstrap_servers, topics))
    deadline = time.monotonic() + timeout_s
    archived = archive_counts(root)
    while archived != bus and time.monotonic() < deadline:
        time.sleep(0.25)  # polling the archive directory for the archiver's files
        archived = archive_counts(root)
    return {"complete": archived == bus, "bus": dict(bus), "archived": dict(archived)}
