"""Who may do what on the bus: one SCRAM principal per service, its topics and its groups.

The one place that says which service produces and consumes which topic of the catalogue
(``unrip.topics.CATALOGUE``), which consumer groups it joins, and which topics the topic job
administers. Redpanda's ACLs are generated from it (``grants``; the bus-access Job in
``bus_access`` creates them and removes any other grant to a managed principal). They are
allow-only and literal: Redpanda enforces authorization on the SASL listener, so anything
not listed here is denied. The tests check the map against the services' own code and the
catalogue, so a new topic or a new consumer cannot be forgotten here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from unrip import topics

USER_PREFIX: Final = "unrip-"
# The principal of the cluster project's topic job (not an app: it lives in the platform).
TOPIC_JOB: Final = "topics"


@dataclass(frozen=True, slots=True)
class Principal:
    """One service's identity on the bus and everything it is allowed to do."""

    service: str
    produces: frozenset[str]
    consumes: frozenset[str]
    groups: frozenset[str]
    # Topics it creates, grows and reconfigures (the topic job only).
    administers: frozenset[str] = frozenset()

    @property
    def user(self) -> str:
        return f"{USER_PREFIX}{self.service}"


def _principal(
    service: str,
    *,
    produces: tuple[str, ...] = (),
    consumes: tuple[str, ...] = (),
    groups: tuple[str, ...] = (),
    administers: tuple[str, ...] = (),
) -> Principal:
    return Principal(
        service, frozenset(produces), frozenset(consumes), frozenset(groups), frozenset(administers)
    )


dlq = topics.dlq_topic

# Topics the archiver keeps (its default UNRIP_ARCHIVER_TOPICS: raw.*, norm.*, cmd.*, exec.*,
# audit.*), read from the catalogue so a new topic of those classes is granted with it.
ARCHIVED: Final = tuple(
    spec.name
    for spec in topics.CATALOGUE
    if spec.name.split(".", 1)[0] in {"raw", "norm", "cmd", "exec", "audit"}
)

PRINCIPALS: Final[tuple[Principal, ...]] = (
    # The venue's raw quotes, the demand derived from them, and the rejects of both.
    _principal(
        "ingest",
        produces=(
            topics.RAW_NEAR_INTENTS_QUOTE,
            topics.NORM_SWAP_DEMAND,
            dlq(topics.RAW_NEAR_INTENTS_QUOTE),
        ),
    ),
    # The venue's token list (raw), the reference prices derived from it, its rejects.
    _principal(
        "ingest-prices",
        produces=(
            topics.RAW_NEAR_INTENTS_TOKENS,
            topics.NORM_REFERENCE_PRICE,
            dlq(topics.RAW_NEAR_INTENTS_TOKENS),
        ),
    ),
    # Decides on demand (and learns outcomes from results and prices); only it may write
    # commands. It rebuilds its risk state from its own outputs at start (no group).
    _principal(
        "reactor",
        consumes=(
            topics.NORM_SWAP_DEMAND,
            topics.EXEC_TRADE_RESULT,
            topics.NORM_REFERENCE_PRICE,
            topics.CMD_EXECUTE_TRADE,
            topics.AUDIT_REACTOR_SKIP,
            topics.AUDIT_RISK_TRIP,
            topics.STATE_REACTOR,  # its own inventory snapshot, reloaded at start
        ),
        produces=(
            topics.CMD_EXECUTE_TRADE,
            topics.AUDIT_REACTOR_SKIP,
            topics.AUDIT_RISK_TRIP,
            topics.STATE_REACTOR,
            dlq(topics.NORM_SWAP_DEMAND),
            dlq(topics.EXEC_TRADE_RESULT),
        ),
        groups=("reactor",),
    ),
    # Executes commands; only it may write the ledger and results.
    _principal(
        "executor",
        consumes=(topics.CMD_EXECUTE_TRADE, topics.STATE_EXECUTOR_LEDGER),
        produces=(
            topics.STATE_EXECUTOR_LEDGER,
            topics.EXEC_TRADE_RESULT,
            dlq(topics.CMD_EXECUTE_TRADE),
        ),
        groups=("executor",),
    ),
    # Watches everything, writes only rejects of the results it cannot decode.
    _principal(
        "monitor",
        consumes=(
            topics.NORM_SWAP_DEMAND,
            topics.CMD_EXECUTE_TRADE,
            topics.AUDIT_REACTOR_SKIP,
            topics.EXEC_TRADE_RESULT,
            topics.STATE_MONITOR,  # its own counts, reloaded at start
            *topics.DLQ_TOPICS,
        ),
        produces=(dlq(topics.EXEC_TRADE_RESULT), topics.STATE_MONITOR),
        groups=("monitor",),
    ),
    # Reads what it keeps; writes only to object storage, never to the bus.
    _principal("archiver", consumes=ARCHIVED, groups=("archiver",)),
    # The cluster project's topic job (cluster/topics.py): creates the catalogue's topics,
    # adds partitions, sets their configs. It neither reads nor writes a record.
    _principal(TOPIC_JOB, administers=tuple(spec.name for spec in topics.CATALOGUE)),
)

BY_SERVICE: Final = {principal.service: principal for principal in PRINCIPALS}
# The Kafka clients that run as Deployments in the apps namespace, each with its own Secret.
APP_SERVICES: Final = tuple(p.service for p in PRINCIPALS if p.service != TOPIC_JOB)

Resource = Literal["topic", "group"]
# Operations as rpk spells them. Producing needs WRITE (and DESCRIBE for metadata); consuming
# READ and DESCRIBE; a consumer group READ. Idempotent producers need no cluster grant:
# Redpanda (like Kafka since KIP-679) lets InitProducerId through for a principal that may
# write some topic. No transactional ids: no service uses Kafka transactions.
PRODUCE: Final = ("write", "describe")
CONSUME: Final = ("read", "describe")
JOIN: Final = ("read",)
# rpk topic list (describe), create, add-partitions (alter), alter-config (alterconfigs), and
# reading the configs back (describeconfigs).
ADMINISTER: Final = ("create", "alter", "alterconfigs", "describe", "describeconfigs")


@dataclass(frozen=True, slots=True, order=True)
class Grant:
    """One allow ACL: a user may do one operation on one literal topic or group."""

    user: str
    resource: Resource
    name: str
    operation: str

    @property
    def principal(self) -> str:
        return f"User:{self.user}"


def grants(principal: Principal) -> frozenset[Grant]:
    """Every ACL the principal holds: exactly its map entry, nothing implied."""
    wanted: set[tuple[Resource, str, str]] = set()
    for topic in principal.produces:
        wanted |= {("topic", topic, op) for op in PRODUCE}
    for topic in principal.consumes:
        wanted |= {("topic", topic, op) for op in CONSUME}
    for topic in principal.administers:
        wanted |= {("topic", topic, op) for op in ADMINISTER}
    for group in principal.groups:
        wanted |= {("group", group, op) for op in JOIN}
    return frozenset(Grant(principal.user, kind, name, op) for kind, name, op in wanted)


def all_grants() -> frozenset[Grant]:
    return frozenset().union(*(grants(p) for p in PRINCIPALS))


def grant_calls(principal: Principal) -> list[list[str]]:
    """The bus-access script's ``grant USER KIND NAME OPERATION...`` calls, one per resource."""
    by_resource: dict[tuple[Resource, str], list[str]] = {}
    for grant in sorted(grants(principal)):
        by_resource.setdefault((grant.resource, grant.name), []).append(grant.operation)
    return [
        ["grant", principal.user, kind, name, *operations]
        for (kind, name), operations in sorted(by_resource.items())
    ]
