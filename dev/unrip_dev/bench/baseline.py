"""The baseline: what the bus alone costs, measured in the same run as the pipeline.

Latency: a chain of two bare relays (``relay.py``) between a fixed-rate driver and a tap has
the pipeline's shape (ingest -> reactor -> executor -> consumer of the results): three hops,
each a produce (acks=all) and a fetch by a consumer in another process. Each message carries
the time it was sent and the time each relay received it, so one run gives both the first
hop's latency and the three hops end to end.

Throughput: a backlog of messages is written first, then a fresh relay drains it; its rate
over the middle 80 % of the drain (start-up and tail excluded) is the most one relay can move.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord
from unrip.runtime.kafka import make_producer
from unrip.runtime.settings import ServiceSettings
from unrip.topics import CleanupPolicy, TopicSpec

from unrip_dev.bench import relay
from unrip_dev.bench.machine import cpu_seconds
from unrip_dev.bench.stats import Distribution, RateVerdict, judge_rate, middle_rate
from unrip_dev.bench.tap import Expected, TopicTap
from unrip_dev.supervisor import Child

HOP_TOPICS = ("bench.hop.1", "bench.hop.2", "bench.hop.3")
LOAD_TOPICS = ("bench.load.in", "bench.load.out")
_HOUR_MS = 3_600_000
_PROBE_STEP = 0


def bench_topics(partitions: int) -> list[TopicSpec]:
    """The baseline's own topics: as many partitions as the pipeline's, short retention."""
    return [
        TopicSpec(name, partitions, "sequence", _HOUR_MS, CleanupPolicy.DELETE, "benchmark")
        for name in (*HOP_TOPICS, *LOAD_TOPICS)
    ]


@dataclass(frozen=True, slots=True)
class ChainLatency:
    rate_per_s: float
    one_hop_ms: Distribution
    three_hops_ms: Distribution
    verdict: RateVerdict
    cpu_ms_per_event: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        return {
            "rate_per_s": self.rate_per_s,
            "one_hop_ms": self.one_hop_ms.rounded(),
            "three_hops_ms": self.three_hops_ms.rounded(),
            **self.verdict.as_dict(),
            "cpu_ms_per_event": self.cpu_ms_per_event,
        }


@dataclass(frozen=True, slots=True)
class RelayThroughput:
    messages: int
    drained: int
    msgs_per_s: float | None
    seconds: float
    cpu_ms_per_event: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        return {
            "messages": self.messages,
            "drained": self.drained,
            "msgs_per_s": None if self.msgs_per_s is None else round(self.msgs_per_s, 1),
            "seconds": round(self.seconds, 2),
            "cpu_ms_per_event": self.cpu_ms_per_event,
        }


class _ChainLog:
    """Routes arriving messages to the step they belong to (by the step field)."""

    def __init__(self) -> None:
        self.steps: dict[int, Expected[tuple[float, ...]]] = {}

    def on_record(self, record: ConsumerRecord, arrived: float) -> None:
        values = relay.fields(record.value)
        step = self.steps.get(values[relay.STEP])
        if step is not None:
            stamps = values[relay.SENT : relay.SENT + 3]
            step.add(values[relay.SEQUENCE], (*(ns / 1e9 for ns in stamps), arrived))


def _relay_child(
    name: str, source: str, target: str, group: str, slot: int, env: dict[str, str], logs: Path
) -> Child:
    argv = [sys.executable, "-m", "unrip_dev.bench.relay"]
    argv += ["--source", source, "--target", target, "--group", group, "--slot", str(slot)]
    child = Child(name, argv, env, 0, logs / f"{name}.log")
    child.start()
    return child


async def _drive(
    producer: AIOKafkaProducer,
    topic: str,
    step: int,
    rate_per_s: float,
    count: int,
    size: int,
) -> None:
    """``count`` messages at a fixed rate: message ``i`` is due ``i / rate`` after the start."""
    acks = []
    started = time.monotonic()
    for sequence in range(count):
        delay = started + sequence / rate_per_s - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)  # the fixed-rate schedule
        value = relay.message(size, step, sequence, time.time_ns())
        acks.append(await producer.send(topic, value=value, key=str(sequence).encode()))
    await asyncio.gather(*acks)


class Baseline:
    def __init__(
        self, settings: ServiceSettings, env: dict[str, str], logs: Path, run_id: str, size: int
    ) -> None:
        self.settings = settings
        self.env = env
        self.logs = logs
        self.run_id = run_id
        self.size = size
        self.watch: dict[str, int] = {}  # other processes whose CPU time is accounted

    async def latency(
        self,
        rates: list[float],
        seconds: float,
        max_events: int,
        warmup_s: float,
        drain_timeout_s: float,
    ) -> list[ChainLatency]:
        """One fixed-rate run through the relay chain per rate, after a warm-up."""
        chain = _ChainLog()
        tap = TopicTap(self.settings, HOP_TOPICS[2], chain.on_record)
        producer = make_producer(self.settings, "bench-driver")
        relays = [
            _relay_child(
                f"relay-{i}",
                HOP_TOPICS[i - 1],
                HOP_TOPICS[i],
                f"bench-relay-{i}-{self.run_id}",
                relay.SENT + i,
                self.env,
                self.logs,
            )
            for i in (1, 2)
        ]
        await tap.start()
        await producer.start()
        try:
            await self._until_flowing(chain, tap, producer)
            results = []
            for step, rate in enumerate([rates[0], *rates], start=_PROBE_STEP + 1):
                warmup = step == _PROBE_STEP + 1  # the first run only warms the chain up
                duration = warmup_s if warmup else seconds
                count = max(2, min(int(rate * duration), max_events))
                expected = chain.steps[step] = Expected(count)
                cpu_before = self._cpu(relays)
                await _drive(producer, HOP_TOPICS[0], step, rate, count, self.size)
                await expected.wait(tap, drain_timeout_s)
                cpu_after = self._cpu(relays)
                if warmup:
                    continue
                samples = list(expected.samples.values())
                results.append(
                    ChainLatency(
                        rate,
                        Distribution.of([(s[1] - s[0]) * 1000 for s in samples]),
                        Distribution.of([(s[3] - s[0]) * 1000 for s in samples]),
                        judge_rate(rate, count, [s[0] for s in samples], [s[3] for s in samples]),
                        {
                            name: round((cpu_after[name] - cpu_before[name]) * 1000 / count, 4)
                            for name in cpu_after.keys() & cpu_before.keys()
                        },
                    )
                )
            return results
        finally:
            await producer.stop()
            await tap.stop()
            await asyncio.gather(*(asyncio.to_thread(r.stop, 15) for r in relays))

    def _cpu(self, relays: list[Child]) -> dict[str, float]:
        pids = {r.name: r.process.pid for r in relays if r.process is not None}
        pids |= self.watch | {"bench (driver, tap)": os.getpid()}
        found = {name: cpu_seconds(pid) for name, pid in pids.items()}
        return {name: seconds for name, seconds in found.items() if seconds is not None}

    async def _until_flowing(
        self, chain: _ChainLog, tap: TopicTap, producer: AIOKafkaProducer
    ) -> None:
        """Probe until a message makes it through (the relays have joined their groups)."""
        probe = chain.steps[_PROBE_STEP] = Expected(1)
        sequence = 0
        while not probe.complete.is_set():
            value = relay.message(self.size, _PROBE_STEP, sequence, time.time_ns())
            await producer.send_and_wait(HOP_TOPICS[0], value=value, key=b"probe")
            sequence += 1
            if sequence > 120:
                raise RuntimeError("the baseline relays did not pass a message within a minute")
            await probe.wait(tap, 0.5)

    async def throughput(self, messages: int, drain_timeout_s: float) -> RelayThroughput:
        """Write a backlog of ``messages``, then time a fresh relay draining it."""
        step = 1_000_000
        log = _ChainLog()
        expected = log.steps[step] = Expected(messages)
        tap = TopicTap(self.settings, LOAD_TOPICS[1], log.on_record)
        await tap.start()
        producer = make_producer(self.settings, "bench-loader")
        await producer.start()
        try:
            acks = []
            for sequence in range(messages):
                value = relay.message(self.size, step, sequence, time.time_ns())
                acks.append(
                    await producer.send(LOAD_TOPICS[0], value=value, key=str(sequence).encode())
                )
            await asyncio.gather(*acks)
        finally:
            await producer.stop()
        started = time.monotonic()
        cpu_before = self._cpu([])
        loader = _relay_child(
            "relay-load",
            LOAD_TOPICS[0],
            LOAD_TOPICS[1],
            f"bench-relay-load-{self.run_id}",
            relay.SENT + 1,
            self.env,
            self.logs,
        )
        try:
            await expected.wait(tap, drain_timeout_s)
            # The relay's start-up (imports, group join) is not per-message work: it is left
            # in, which overstates the relay's cost per message a little.
            cpu_after = self._cpu([loader])
        finally:
            await tap.stop()
            await asyncio.to_thread(loader.stop, 15)
        arrivals = sorted(sample[3] for sample in expected.samples.values())
        return RelayThroughput(
            messages,
            len(arrivals),
            middle_rate(arrivals),
            time.monotonic() - started,
            {
                name: round((cpu_after[name] - cpu_before.get(name, 0.0)) * 1000 / messages, 4)
                for name in cpu_after
            },
        )
