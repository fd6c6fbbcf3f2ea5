"""Shared fixtures: a real Kafka-compatible broker (Tansu) and service processes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from unrip.runtime.kafka import ensure_topics
from unrip.topics import CATALOGUE
from unrip_dev.broker import TansuBroker
from unrip_dev.supervisor import Supervisor, local_env

# Property tests check behaviour, not speed: a per-example deadline is a timing assertion, and
# on shared, noisy machines it fails for reasons that have nothing to do with the code.
settings.register_profile("unrip", deadline=None)
settings.load_profile("unrip")


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[TansuBroker]:
    """A fresh broker per test (memory storage, starts in milliseconds) with every topic."""
    with (tmp_path / "broker.log").open("ab") as log, TansuBroker(log=log) as running:
        asyncio.run(ensure_topics(running.bootstrap_servers, CATALOGUE))
        yield running


@pytest.fixture
def services(broker: TansuBroker, tmp_path: Path) -> Iterator[Supervisor]:
    """Start unrip services as real processes against the broker; all stopped afterwards."""
    supervisor = Supervisor(
        tmp_path, {**local_env(broker.bootstrap_servers), "UNRIP_SHUTDOWN_GRACE_S": "10"}
    )
    yield supervisor
    supervisor.stop_all(timeout_s=15)
