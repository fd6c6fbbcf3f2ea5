"""Small async helpers for integration tests: publish envelopes, read topics, wait on state."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from aiokafka.structs import ConsumerRecord
from unrip.contracts import Envelope, decode
from unrip.reactor.strategy import DEFAULT_STRATEGY_PATH
from unrip.runtime.kafka import Outgoing, make_producer, publish_all
from unrip.runtime.replay import read_to_end
from unrip.runtime.settings import ServiceSettings
from unrip.topics import CMD_EXECUTE_TRADE
from unrip_dev.supervisor import local_signer

T = TypeVar("T")


async def publish(bootstrap: str, records: Sequence[Outgoing], *, signed: bool = True) -> None:
    """Publish as the reactor would: commands carry the local key's MAC unless ``signed`` is
    False (a forger, who has the bus but not the key)."""
    signer = local_signer()
    if signed:
        records = [
            replace(r, headers=signer.headers(r.envelope)) if r.topic == CMD_EXECUTE_TRADE else r
            for r in records
        ]
    producer = make_producer(ServiceSettings(kafka_bootstrap_servers=bootstrap), "test")
    await producer.start()
    try:
        await publish_all(producer, records)
    finally:
        await producer.stop()


async def publish_raw(
    bootstrap: str,
    topic: str,
    value: bytes,
    key: bytes | None = None,
    headers: list[tuple[str, bytes]] | None = None,
) -> None:
    producer = make_producer(ServiceSettings(kafka_bootstrap_servers=bootstrap), "test")
    await producer.start()
    try:
        await producer.send_and_wait(topic, value=value, key=key, headers=headers or [])
    finally:
        await producer.stop()


async def records(bootstrap: str, topic: str) -> list[ConsumerRecord]:
    return [r async for r in read_to_end(bootstrap, [topic])]


async def envelopes(bootstrap: str, topic: str) -> list[Envelope[Any]]:
    return [decode(r.value, r.headers) for r in await records(bootstrap, topic)]


async def eventually(
    probe: Callable[[], Awaitable[T]],
    done: Callable[[T], bool],
    timeout_s: float = 30.0,
    what: str = "condition",
) -> T:
    """Poll ``probe`` until ``done`` holds (state on the bus has no change notification)."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = await probe()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout_s}s waiting for {what}; last: {value!r}"[:2000]
            )
        await asyncio.sleep(0.2)


def static_strategy(path: Path, text: str | None = None) -> Path:
    """A strategy file priced from its own static prices (the paper/test option)."""
    source = DEFAULT_STRATEGY_PATH.read_text() if text is None else text
    path.write_text(source.replace("source: bus", "source: static", 1))
    return path
