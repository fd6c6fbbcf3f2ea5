"""The ledger state machine: every legal transition, every illegal one refused."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from unrip.contracts import LedgerEntryV1, LedgerState
from unrip.executor import states

from tests.factories import command

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
RESULT = '{"stored": "result"}'


def received() -> LedgerEntryV1:
    return states.receive(
        command(),
        venue="near_intents",
        command_event_id="e-1",
        correlation_id="c-1",
        at=NOW,
        by="x",
    )


def at_state(target: LedgerState) -> LedgerEntryV1:
    entry = received()
    path = {
        LedgerState.RECEIVED: [],
        LedgerState.EXECUTING: [LedgerState.EXECUTING],
        LedgerState.SUBMITTED: [LedgerState.EXECUTING, LedgerState.SUBMITTED],
        LedgerState.EXECUTED: [LedgerState.EXECUTING, LedgerState.EXECUTED],
        LedgerState.FAILED: [LedgerState.FAILED],
    }[target]
    for step in path:
        entry = states.advance(
            entry, step, at=NOW, by="x", result_json=RESULT if step in states.TERMINAL else None
        )
    return entry


LEGAL = {
    (LedgerState.RECEIVED, LedgerState.EXECUTING),
    (LedgerState.RECEIVED, LedgerState.FAILED),
    (LedgerState.EXECUTING, LedgerState.EXECUTED),
    (LedgerState.EXECUTING, LedgerState.FAILED),
    (LedgerState.EXECUTING, LedgerState.SUBMITTED),
    (LedgerState.SUBMITTED, LedgerState.EXECUTED),
    (LedgerState.SUBMITTED, LedgerState.FAILED),
}


def test_a_new_entry_is_received_with_its_command() -> None:
    entry = received()
    assert entry.state is LedgerState.RECEIVED
    assert entry.command is not None and entry.client_order_id == entry.command.client_order_id
    assert [t.state for t in entry.transitions] == [LedgerState.RECEIVED]


@pytest.mark.parametrize(("current", "target"), sorted(LEGAL))
def test_legal_transitions_record_history(current: LedgerState, target: LedgerState) -> None:
    before = at_state(current)
    after = states.advance(
        before, target, at=NOW, by="y", result_json=RESULT if target in states.TERMINAL else None
    )
    assert after.state is target
    assert after.transitions[-1].state is target and after.transitions[-1].by == "y"
    assert len(after.transitions) == len(before.transitions) + 1
    assert before.state is current  # entries are immutable values


@pytest.mark.parametrize(
    ("current", "target"),
    sorted(set(itertools.product(LedgerState, LedgerState)) - LEGAL),
)
def test_every_other_transition_is_refused(current: LedgerState, target: LedgerState) -> None:
    entry = at_state(current)
    with pytest.raises(states.IllegalTransitionError, match=f"{current} -> {target}"):
        states.advance(
            entry, target, at=NOW, by="x", result_json=RESULT if target in states.TERMINAL else None
        )


def test_terminal_states_must_store_the_result_and_others_must_not() -> None:
    with pytest.raises(ValueError, match="stored result"):
        states.advance(at_state(LedgerState.EXECUTING), LedgerState.EXECUTED, at=NOW, by="x")
    with pytest.raises(ValueError, match="stored result"):
        states.advance(received(), LedgerState.EXECUTING, at=NOW, by="x", result_json=RESULT)


def test_restore_keeps_the_first_terminal_record() -> None:
    executing = at_state(LedgerState.EXECUTING)
    executed = at_state(LedgerState.EXECUTED)
    failed = at_state(LedgerState.FAILED)
    assert states.newer(None, executing) is executing
    assert states.newer(executing, executed) is executed
    # A late 'executing' (a paused instance writing after losing the partition) is stale.
    assert states.newer(executed, executing) is executed
    assert states.newer(executed, failed) is executed
