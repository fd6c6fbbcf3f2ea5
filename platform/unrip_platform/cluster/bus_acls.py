"""Who may do what on the bus: one SCRAM principal per service, its topics and its groups.

The one place that says which service produces and consumes which topic of the catalogue
(``unrip.topics.CATALOGUE``) and which consumer groups it joins. Redpanda's ACLs are rendered
from it (``acl_commands``: allow-only, so anything not listed is denied once SASL is on);
the tests check it against the services' own code and the catalogue, so a new topic or a new
consumer cannot be forgotten here.

Status (docs/security.md, "Open"): the map and its rendering are done; the brokers do not
enforce them yet (Redpanda's SASL listener, the users and the Secrets are the next step).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from unrip import topics

USER_PREFIX: Final = "unrip-"


@dataclass(frozen=True, slots=True)
class Principal:
    """One service's identity on the bus and everything it is allowed to do."""

    service: str
    produces: frozenset[str]
    consumes: frozenset[str]
    groups: frozenset[str]

    @property
    def user(self) -> str:
        return f"{USER_PREFIX}{self.service}"


def _principal(
    service: str,
    *,
    produces: tuple[str, ...] = (),
    consumes: tuple[str, ...] = (),
    groups: tuple[str, ...] = (),
) -> Principal:
    return Principal(service, frozenset(produces), frozenset(consumes), frozenset(groups))


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
)

BY_SERVICE: Final = {principal.service: principal for principal in PRINCIPALS}


def acl_commands(principal: Principal) -> list[list[str]]:
    """``rpk security acl create`` argument lists granting exactly the principal's rights.

    Producing needs WRITE (and DESCRIBE for metadata) on the topic; consuming READ and
    DESCRIBE on the topic, and READ on the group when it joins one.
    """
    allow = ["--allow-principal", f"User:{principal.user}"]
    commands = []
    for topic in sorted(principal.produces):
        commands.append(
            ["security", "acl", "create", *allow, "--operation", "write,describe", "--topic", topic]
        )
    for topic in sorted(principal.consumes):
        commands.append(
            ["security", "acl", "create", *allow, "--operation", "read,describe", "--topic", topic]
        )
    for group in sorted(principal.groups):
        commands.append(
            ["security", "acl", "create", *allow, "--operation", "read", "--group", group]
        )
    return commands
