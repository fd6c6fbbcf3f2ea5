"""Which partition a key belongs to: Kafka's default (murmur2) partitioner, as producers use.

The executor trusts a command only on the partition its ``command_id`` maps to: its ledger
entries live in the co-partitioned ledger partition, so a copy of the command on another
partition would be checked against another ledger and could be executed a second time.
"""

from __future__ import annotations

from aiokafka.partitioner import murmur2


def partition_for(key: str | bytes, partitions: int) -> int:
    """The partition Kafka's default partitioner (Java client, aiokafka, librdkafka's
    ``murmur2_random``) writes ``key`` to, among ``partitions``."""
    data = key.encode() if isinstance(key, str) else key
    return int(murmur2(data) & 0x7FFFFFFF) % partitions
