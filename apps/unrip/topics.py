"""The one topic catalogue.

Every topic the services use is declared here, once. The local broker set-up, the cluster's
topic job and the tests all read this catalogue, so a topic cannot exist in one place and not
in another. Topic classes (docs/contracts.md explains each):

- ``raw.*``   venue-native truth, the exact message as received
- ``norm.*``  canonical inputs (venue-independent)
- ``cmd.*``   execution commands
- ``exec.*``  execution outcomes
- ``audit.*`` decisions that produced no command (the reactor's skips, with their reason)
- ``state.*`` compacted service state (the executor's durable ledger, the monitor's counts)
- ``dlq.*``   rejected input with the reason: ``dlq.<input topic>``
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final

DAY_MS: Final = 24 * 60 * 60 * 1000


class CleanupPolicy(StrEnum):
    DELETE = "delete"
    COMPACT = "compact"


@dataclass(frozen=True, slots=True)
class TopicSpec:
    """A topic's contract: name, partitioning key, size and lifetime."""

    name: str
    partitions: int
    key: str
    retention_ms: int
    cleanup_policy: CleanupPolicy
    description: str
    extra_configs: dict[str, str] = field(default_factory=dict)

    def configs(self) -> dict[str, str]:
        """Kafka topic configs, as strings (what CreateTopics and AlterConfigs take)."""
        configs = {
            "cleanup.policy": self.cleanup_policy.value,
            "retention.ms": str(self.retention_ms),
        }
        configs.update(self.extra_configs)
        return configs


RAW_NEAR_INTENTS_QUOTE: Final = "raw.near_intents.quote"
RAW_NEAR_INTENTS_TOKENS: Final = "raw.near_intents.tokens"
NORM_REFERENCE_PRICE: Final = "norm.reference_price"
AUDIT_RISK_TRIP: Final = "audit.risk_trip"
NORM_SWAP_DEMAND: Final = "norm.swap_demand"
CMD_EXECUTE_TRADE: Final = "cmd.execute_trade"
EXEC_TRADE_RESULT: Final = "exec.trade_result"
AUDIT_REACTOR_SKIP: Final = "audit.reactor_skip"
STATE_EXECUTOR_LEDGER: Final = "state.executor_ledger"
STATE_MONITOR: Final = "state.monitor"
STATE_REACTOR: Final = "state.reactor"

# Commands and the executor ledger must be co-partitioned: same key, same partition count,
# same (default murmur2) partitioner, so partition p of the ledger holds exactly the entries of
# partition p's commands and can be restored when p is assigned.
EXECUTION_PARTITIONS: Final = 6


def dlq_topic(source_topic: str) -> str:
    """Dead-letter topic for records rejected from ``source_topic`` (or produced for it)."""
    return f"dlq.{source_topic}"


_PRIMARY: Final[tuple[TopicSpec, ...]] = (
    TopicSpec(
        RAW_NEAR_INTENTS_QUOTE,
        6,
        "quote_id",
        7 * DAY_MS,
        CleanupPolicy.DELETE,
        "NEAR Intents solver-relay quote events, the exact websocket text in `raw`.",
    ),
    TopicSpec(
        RAW_NEAR_INTENTS_TOKENS,
        1,
        "venue",
        7 * DAY_MS,
        CleanupPolicy.DELETE,
        "NEAR Intents 1Click token lists (GET /v0/tokens), the exact HTTP body in `raw`.",
    ),
    TopicSpec(
        NORM_REFERENCE_PRICE,
        6,
        "asset_id",
        7 * DAY_MS,
        CleanupPolicy.COMPACT,
        "USD reference prices, one event per asset per change and per heartbeat; compacted "
        "by asset id so a new reader finds the latest price of every asset.",
        # Keep an hour of history uncompacted (replays see every observation of the hour).
        {"min.compaction.lag.ms": "3600000"},
    ),
    TopicSpec(
        NORM_SWAP_DEMAND,
        6,
        "venue:quote_id",
        7 * DAY_MS,
        CleanupPolicy.DELETE,
        "Venue-independent swap demands (someone wants to swap an exact amount).",
    ),
    TopicSpec(
        CMD_EXECUTE_TRADE,
        EXECUTION_PARTITIONS,
        "command_id",
        7 * DAY_MS,
        CleanupPolicy.DELETE,
        "The reactor's decisions to trade, with the limits that were applied.",
    ),
    TopicSpec(
        EXEC_TRADE_RESULT,
        6,
        "command_id",
        30 * DAY_MS,
        CleanupPolicy.DELETE,
        "One outcome per command: filled, not filled, rejected, expired or failed.",
    ),
    TopicSpec(
        AUDIT_REACTOR_SKIP,
        6,
        "venue:quote_id",
        7 * DAY_MS,
        CleanupPolicy.DELETE,
        "Demands the reactor decided not to trade, with the documented skip reason.",
    ),
    TopicSpec(
        AUDIT_RISK_TRIP,
        1,
        "limit",
        30 * DAY_MS,
        CleanupPolicy.DELETE,
        "Risk limits that tripped (daily loss, circuit breakers), with the numbers that did it.",
    ),
    TopicSpec(
        STATE_EXECUTOR_LEDGER,
        EXECUTION_PARTITIONS,
        "command_id",
        14 * DAY_MS,
        CleanupPolicy.COMPACT,
        "The executor's durable ledger: latest state of every command, co-partitioned with "
        "cmd.execute_trade and restored when a partition is assigned.",
        # Compact soon after a segment rolls, but keep tombstone-free history for restores.
        {"min.compaction.lag.ms": "60000", "segment.ms": str(DAY_MS)},
    ),
    TopicSpec(
        STATE_MONITOR,
        1,
        "monitor group id",
        14 * DAY_MS,
        CleanupPolicy.COMPACT,
        "The monitor's counts, fill rate and PnL with the input offsets they cover, so a "
        "restart continues them.",
        {"min.compaction.lag.ms": "60000", "segment.ms": str(DAY_MS)},
    ),
    TopicSpec(
        STATE_REACTOR,
        1,
        "reactor group id",
        14 * DAY_MS,
        CleanupPolicy.COMPACT,
        "The reactor's inventory with the result offsets it covers, so a restart reads only "
        "the results after them instead of every retained one.",
        {"min.compaction.lag.ms": "60000", "segment.ms": str(DAY_MS)},
    ),
)

# Topics whose records a service consumes (and may therefore reject into a DLQ); the ingest's
# input is the venue itself, whose rejects go to the DLQ of its raw topic.
_DLQ_SOURCES: Final = (
    RAW_NEAR_INTENTS_QUOTE,
    RAW_NEAR_INTENTS_TOKENS,
    NORM_SWAP_DEMAND,
    CMD_EXECUTE_TRADE,
    EXEC_TRADE_RESULT,
)

_DLQS: Final[tuple[TopicSpec, ...]] = tuple(
    TopicSpec(
        dlq_topic(source),
        1,
        "source key",
        30 * DAY_MS,
        CleanupPolicy.DELETE,
        f"Records rejected from {source}, with the reason and the consumer that rejected them.",
    )
    for source in _DLQ_SOURCES
)

CATALOGUE: Final[tuple[TopicSpec, ...]] = _PRIMARY + _DLQS
DLQ_TOPICS: Final[tuple[str, ...]] = tuple(s.name for s in _DLQS)
RAW_TOPICS: Final[tuple[str, ...]] = tuple(s.name for s in _PRIMARY if s.name.startswith("raw."))
BY_NAME: Final[dict[str, TopicSpec]] = {spec.name: spec for spec in CATALOGUE}


def demand_key(venue: str, quote_id: str) -> str:
    """The key of a demand (``norm.swap_demand``) and the name of that demand everywhere."""
    return f"{venue}:{quote_id}"


def spec(name: str) -> TopicSpec:
    """Look a topic up, failing loudly on a name that is not in the catalogue."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"topic {name!r} is not in the catalogue (unrip.topics)") from None
