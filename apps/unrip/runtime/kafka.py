"""Kafka clients configured the one way unrip uses them (standard Kafka semantics only).

Producers: acks=all, no linger (latency). Consumers: manual commits only, earliest reset
(a new group must not skip commands), short fetch waits. Nothing broker-specific.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context
from aiokafka.structs import RecordMetadata

from unrip.contracts import Envelope, encode
from unrip.runtime import kafka_metrics
from unrip.runtime.settings import ServiceSettings
from unrip.topics import TopicSpec

log = logging.getLogger(__name__)


def security_options(settings: ServiceSettings) -> dict[str, Any]:
    """aiokafka's authentication options for the settings (none for PLAINTEXT)."""
    if settings.kafka_security_protocol == "PLAINTEXT":
        return {}
    assert settings.kafka_sasl_password is not None  # ServiceSettings validated it
    options: dict[str, Any] = {
        "security_protocol": settings.kafka_security_protocol,
        "sasl_mechanism": settings.kafka_sasl_mechanism,
        "sasl_plain_username": settings.kafka_sasl_username,
        "sasl_plain_password": settings.kafka_sasl_password.get_secret_value(),
    }
    if settings.kafka_security_protocol == "SASL_SSL":
        options["ssl_context"] = create_ssl_context()
    return options


def make_producer(settings: ServiceSettings, role: str, **overrides: Any) -> AIOKafkaProducer:
    kafka_metrics.install()
    options: dict[str, Any] = {
        **security_options(settings),
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "client_id": f"{settings.kafka_client_id_prefix}-{role}-{settings.instance_id}",
        "acks": "all",
        "linger_ms": settings.kafka_linger_ms,
        "max_batch_size": settings.kafka_max_batch_bytes,
        "enable_idempotence": settings.kafka_enable_idempotence,
        "request_timeout_ms": settings.kafka_request_timeout_ms,
    }
    options.update(overrides)
    return AIOKafkaProducer(**options)


def make_consumer(
    settings: ServiceSettings, role: str, group_id: str | None, **overrides: Any
) -> AIOKafkaConsumer:
    kafka_metrics.install()
    options: dict[str, Any] = {
        **security_options(settings),
        "bootstrap_servers": settings.kafka_bootstrap_servers,
        "client_id": f"{settings.kafka_client_id_prefix}-{role}-{settings.instance_id}",
        "group_id": group_id,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "fetch_max_wait_ms": settings.kafka_fetch_max_wait_ms,
        "max_poll_records": settings.kafka_max_poll_records,
        "session_timeout_ms": settings.kafka_session_timeout_ms,
        "heartbeat_interval_ms": settings.kafka_heartbeat_interval_ms,
        "request_timeout_ms": settings.kafka_request_timeout_ms,
    }
    options.update(overrides)
    return AIOKafkaConsumer(**options)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One record to publish: the envelope, its topic and key (and optionally its partition)."""

    topic: str
    key: str | None
    envelope: Envelope[Any]
    partition: int | None = None
    # Beyond the envelope's routing headers, e.g. the reactor's command MAC (runtime.signing).
    headers: tuple[tuple[str, bytes], ...] = ()
    # The envelope's JSON when the caller already made it (the executor stores each result in
    # its ledger entry too): sent as it is instead of serialised a second time.
    value: bytes | None = None


async def _send(producer: AIOKafkaProducer, record: Outgoing) -> asyncio.Future[RecordMetadata]:
    """Queue one record; the future resolves when the broker has acknowledged it."""
    if record.value is None:
        value, headers = encode(record.envelope)
    else:
        value, headers = record.value, record.envelope.header_pairs()
    future: asyncio.Future[RecordMetadata] = await producer.send(
        record.topic,
        value=value,
        key=record.key.encode() if record.key is not None else None,
        headers=[*headers, *record.headers],
        partition=record.partition,
    )
    return future


async def publish_all(
    producer: AIOKafkaProducer, records: Iterable[Outgoing]
) -> list[RecordMetadata]:
    """Send everything, then wait for every acknowledgement (acks=all) before returning.

    Sends are pipelined (one batch, not one round trip per record); the caller commits its
    input offsets only after this returns, so nothing is acknowledged upstream unless it is
    durably downstream.
    """
    futures = [await _send(producer, record) for record in records]
    if not futures:
        return []
    return list(await asyncio.gather(*futures))


class Publisher:
    """A stream of sends that never waits per record, with a bound on unacknowledged ones.

    For producers with no input offsets to commit (the ingest): each ``send`` returns once
    the record is queued, waiting only while ``max_in_flight`` acknowledgements are
    outstanding (back-pressure). A failed delivery raises from a later ``send`` or ``flush``,
    so it stops the service instead of being dropped silently.
    """

    def __init__(self, producer: AIOKafkaProducer, max_in_flight: int) -> None:
        self._producer = producer
        self._max = max_in_flight
        self._pending: deque[asyncio.Future[RecordMetadata]] = deque()

    async def send(self, record: Outgoing) -> None:
        self._pending.append(await _send(self._producer, record))
        while self._pending and (self._pending[0].done() or len(self._pending) > self._max):
            await self._pending.popleft()

    async def flush(self) -> None:
        """Wait until everything sent so far is acknowledged."""
        while self._pending:
            await self._pending.popleft()


@dataclass(frozen=True, slots=True)
class TopicReport:
    created: list[str]
    existing: list[str]
    partitions_added: list[str]
    mismatched: list[str]


async def ensure_topics(
    bootstrap_servers: str,
    specs: Sequence[TopicSpec],
    replication_factor: int = 1,
    *,
    timeout_s: float = 30.0,
    settings: ServiceSettings | None = None,
) -> TopicReport:
    """Create missing catalogue topics and grow partition counts; idempotent.

    Kafka cannot shrink partitions, so a topic with more partitions than the catalogue is
    reported as a mismatch (and left alone) rather than "fixed".
    """
    security = security_options(settings) if settings is not None else {}
    admin = AIOKafkaAdminClient(
        bootstrap_servers=bootstrap_servers, request_timeout_ms=10_000, **security
    )
    await asyncio.wait_for(admin.start(), timeout_s)
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        created: list[str] = []
        if missing:
            # A concurrent creator may win; the describe below checks the outcome either way.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [
                        NewTopic(
                            s.name, s.partitions, replication_factor, topic_configs=s.configs()
                        )
                        for s in missing
                    ]
                )
            created = [s.name for s in missing]
        present = [s for s in specs if s.name in existing]
        added: list[str] = []
        mismatched: list[str] = []
        if present:
            described = await admin.describe_topics([s.name for s in present])
            counts = {d["topic"]: len(d["partitions"]) for d in described}
            grow = {}
            for s in present:
                have = counts.get(s.name, 0)
                if have < s.partitions:
                    grow[s.name] = NewPartitions(total_count=s.partitions)
                elif have > s.partitions:
                    mismatched.append(f"{s.name}: {have} partitions, catalogue says {s.partitions}")
            if grow:
                await admin.create_partitions(grow)
                added = sorted(grow)
        return TopicReport(created, sorted(s.name for s in present), added, mismatched)
    finally:
        await admin.close()
