"""Count the Kafka requests and records a process makes: its cost to the broker, made visible.

A broker pays for every request it answers (produce, fetch, commit, heartbeat, metadata),
whatever it carries: Tansu spends ~150 µs of CPU on each, one record or five hundred. What a
service costs the bus is therefore its requests per event more than its records per event
(docs/benchmarks.md), and the two together say whether batching works. aiokafka has no hook
for either, so its single path for requests (``AIOKafkaClient.send``) and the points where
records enter and leave a process (``AIOKafkaProducer.send``, ``AIOKafkaConsumer.getmany``
and ``getone``) are wrapped, once per process, by ``install`` (called by the client
factories in ``runtime.kafka``). The counters are exported on ``/metrics`` like any other.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.client import AIOKafkaClient
from prometheus_client import Counter

REQUESTS = Counter(
    "unrip_kafka_requests_total", "Requests this process sent to Kafka brokers, by API", ["api"]
)
RECORDS = Counter(
    "unrip_kafka_records_total", "Records this process produced or consumed", ["direction"]
)

_installed = False


def api_name(request: Any) -> str:
    """``ProduceRequest_v3`` -> ``Produce``: a bounded label (one per Kafka API)."""
    name = type(request).__name__.split("_v", 1)[0]
    return name.removesuffix("Request") or name


def install() -> None:
    """Wrap aiokafka's request and record paths with the counters; idempotent."""
    global _installed
    if _installed:
        return
    _installed = True
    _wrap(AIOKafkaClient, "send", _count_request)
    _wrap(AIOKafkaProducer, "send", _count_produced)
    _wrap(AIOKafkaConsumer, "getmany", _count_fetched_batch)
    _wrap(AIOKafkaConsumer, "getone", _count_fetched_one)


def _wrap(
    cls: type,
    name: str,
    count: Callable[[tuple[Any, ...], Any], None],
) -> None:
    original: Callable[..., Awaitable[Any]] = getattr(cls, name)

    @functools.wraps(original)
    async def counted(*args: Any, **kwargs: Any) -> Any:
        result = await original(*args, **kwargs)
        count(args, result)
        return result

    setattr(cls, name, counted)


_PRODUCED = RECORDS.labels("produced")
_CONSUMED = RECORDS.labels("consumed")


def _count_request(args: tuple[Any, ...], _result: Any) -> None:
    # args: (client, node_id, request); a request that raised is not counted, which is rare
    # and errs on the side of the cheaper figure by one.
    REQUESTS.labels(api_name(args[2])).inc()


def _count_produced(_args: tuple[Any, ...], _result: Any) -> None:
    _PRODUCED.inc()


def _count_fetched_batch(_args: tuple[Any, ...], result: Any) -> None:
    n = sum(len(records) for records in result.values())
    if n:
        _CONSUMED.inc(n)


def _count_fetched_one(_args: tuple[Any, ...], _result: Any) -> None:
    _CONSUMED.inc()
