"""The ledger's state machine: which transitions a command may make, and nothing else.

    (new) ─▶ received ─▶ executing ─▶ submitted ─▶ executed
                 │            │  └──────────────────▶ executed
                 └────────────┴────────┴───────────▶ failed

``executing`` is recorded durably *before* the venue is called, so a crash can never leave a
venue call that the ledger does not know about; ``executed`` means the venue's outcome (filled
or not) is recorded; ``submitted`` (venues whose outcome comes later, NEAR: a signed quote
settles or expires up to a minute on) means the venue accepted it and its outcome is awaited;
``failed`` means it never reached the venue (expired, refused). The two
terminal states are final: a later record that contradicts one is stale and is ignored.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, Protocol, TypeVar

from unrip.contracts import (
    Envelope,
    ExecuteTradeV1,
    LedgerEntryV1,
    LedgerState,
    LedgerTransition,
)

ALLOWED: Final[dict[LedgerState | None, frozenset[LedgerState]]] = {
    None: frozenset({LedgerState.RECEIVED}),
    LedgerState.RECEIVED: frozenset({LedgerState.EXECUTING, LedgerState.FAILED}),
    LedgerState.EXECUTING: frozenset(
        {LedgerState.SUBMITTED, LedgerState.EXECUTED, LedgerState.FAILED}
    ),
    LedgerState.SUBMITTED: frozenset({LedgerState.EXECUTED, LedgerState.FAILED}),
    LedgerState.EXECUTED: frozenset(),
    LedgerState.FAILED: frozenset(),
}
TERMINAL: Final = frozenset({LedgerState.EXECUTED, LedgerState.FAILED})
# Past the point of no return, outcome not yet recorded: the partition's owner tracks these.
IN_FLIGHT_STATES: Final = frozenset({LedgerState.EXECUTING, LedgerState.SUBMITTED})


class IllegalTransitionError(ValueError):
    def __init__(self, command_id: str, current: LedgerState | None, target: LedgerState) -> None:
        super().__init__(f"command {command_id}: {current or 'new'} -> {target} is not allowed")
        self.current = current
        self.target = target


def receive(
    command: ExecuteTradeV1,
    *,
    venue: str,
    command_event_id: str,
    correlation_id: str | None,
    at: datetime,
    by: str,
) -> LedgerEntryV1:
    """A new ledger entry for a command taken from its partition."""
    return LedgerEntryV1(
        command_id=command.command_id,
        client_order_id=command.client_order_id,
        state=LedgerState.RECEIVED,
        transitions=(LedgerTransition(state=LedgerState.RECEIVED, at=at, by=by),),
        venue=venue,
        command_event_id=command_event_id,
        correlation_id=correlation_id,
        command=command,
    )


def receive_envelope(envelope: Envelope[ExecuteTradeV1], *, at: datetime, by: str) -> LedgerEntryV1:
    """``receive`` for a command as it arrived: its venue and lineage come from the envelope."""
    return receive(
        envelope.payload,
        venue=envelope.venue,
        command_event_id=envelope.event_id,
        correlation_id=envelope.correlation_id,
        at=at,
        by=by,
    )


def advance(
    entry: LedgerEntryV1,
    target: LedgerState,
    *,
    at: datetime,
    by: str,
    result_json: str | None = None,
) -> LedgerEntryV1:
    """The entry after one transition; raises IllegalTransitionError for anything else."""
    if target not in ALLOWED[entry.state]:
        raise IllegalTransitionError(entry.command_id, entry.state, target)
    if (target in TERMINAL) != (result_json is not None):
        raise ValueError("a terminal state carries the stored result, and only a terminal one")
    return entry.model_copy(
        update={
            "state": target,
            "transitions": (*entry.transitions, LedgerTransition(state=target, at=at, by=by)),
            "result_json": result_json,
        }
    )


class Recorded(Protocol):
    """Anything the ledger keeps for a command: a full entry, or a settled summary of one."""

    @property
    def command_id(self) -> str: ...

    @property
    def state(self) -> LedgerState: ...


R = TypeVar("R", bound=Recorded)


def newer(current: R | None, candidate: R) -> R:
    """Fold a ledger record read later into the one known so far (restores use this).

    The first terminal record wins: terminal states are final, so any later record for the
    same command can only come from an instance that lost the partition while paused (a
    zombie) and wrote late.
    """
    if current is None or current.state not in TERMINAL:
        return candidate
    return current
