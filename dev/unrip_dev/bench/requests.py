"""Each process's Kafka requests and records, read from its counters, per event of a step.

The services count every request they send and every record they produce or consume
(``unrip.runtime.kafka_metrics``) and export the counts on ``/metrics``; the bench's own tap
counts in this process. Read before and after a step, the differences per event say where the
broker's work comes from: its CPU follows requests (each costs it about the same, whatever it
carries), so a stage with many requests per event is the next thing to batch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from unrip_dev.supervisor import http_text

_REQUESTS = "unrip_kafka_requests_total"
_RECORDS = "unrip_kafka_records_total"
_FAMILIES = ("unrip_kafka_requests", "unrip_kafka_records")  # names without ``_total``


@dataclass(frozen=True, slots=True)
class KafkaCounts:
    """One process's cumulative counts at one moment."""

    requests: dict[str, float] = field(default_factory=dict)  # by Kafka API
    produced: float = 0.0
    consumed: float = 0.0

    @classmethod
    def of(cls, samples: list[Sample]) -> KafkaCounts:
        requests: dict[str, float] = {}
        produced = consumed = 0.0
        for sample in samples:
            if sample.name == _REQUESTS:
                api = sample.labels["api"]
                requests[api] = requests.get(api, 0.0) + sample.value
            elif sample.name == _RECORDS and sample.labels.get("direction") == "produced":
                produced += sample.value
            elif sample.name == _RECORDS and sample.labels.get("direction") == "consumed":
                consumed += sample.value
        return cls(requests, produced, consumed)

    def per_event(self, before: KafkaCounts, events: int) -> dict[str, object]:
        """What happened between ``before`` and now, divided by ``events``."""
        by_api = {
            api: round((count - before.requests.get(api, 0.0)) / events, 3)
            for api, count in sorted(self.requests.items())
        }
        produced = (self.produced - before.produced) / events
        consumed = (self.consumed - before.consumed) / events
        return {
            "broker_requests_per_event": round(sum(by_api.values()), 3),
            "requests_by_api_per_event": {api: n for api, n in by_api.items() if n},
            "records_produced_per_event": round(produced, 3),
            "records_consumed_per_event": round(consumed, 3),
            "message_ops_per_event": round(produced + consumed, 3),
        }


def scrape(url: str) -> KafkaCounts | None:
    """A service's counts from its ``/metrics``; None when it does not answer."""
    text = http_text(f"{url}/metrics", timeout=2.0)
    if text is None:
        return None
    samples = [
        sample
        for family in text_string_to_metric_families(text)
        if family.name in _FAMILIES
        for sample in family.samples
    ]
    return KafkaCounts.of(samples)


def own_counts() -> KafkaCounts:
    """This process's counts (the bench's tap), straight from its registry."""
    samples = [
        sample
        for family in REGISTRY.collect()
        if family.name in _FAMILIES
        for sample in family.samples
    ]
    return KafkaCounts.of(samples)
