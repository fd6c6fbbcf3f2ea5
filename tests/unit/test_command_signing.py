"""Command MACs (unrip.runtime.signing): what the executor accepts as the reactor's command."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiokafka.structs import ConsumerRecord
from pydantic import ValidationError
from unrip.contracts import encode
from unrip.executor.plan import BatchPlan, Planner
from unrip.executor.settings import ExecutorSettings
from unrip.runtime.partitioning import partition_for
from unrip.runtime.signing import HEADER, CommandSigner
from unrip.topics import CMD_EXECUTE_TRADE, EXECUTION_PARTITIONS

from tests.factories import command, envelope_of

KEY = b"0123456789abcdef0123456789abcdef"
SIGNER = CommandSigner(KEY)


def signed() -> tuple[bytes, list[tuple[str, bytes]]]:
    envelope = envelope_of(command("q-1"))
    value, headers = encode(envelope)
    return value, [*headers, *SIGNER.headers(envelope)]


COMMAND_ID = command("q-1").command_id
HOME = partition_for(COMMAND_ID, EXECUTION_PARTITIONS)


def record(value: bytes, headers: list[tuple[str, bytes]]) -> ConsumerRecord:
    """The command as the broker delivers it: keyed by its id, on the partition that maps to."""
    return ConsumerRecord(
        topic=CMD_EXECUTE_TRADE,
        partition=HOME,
        offset=7,
        timestamp=0,
        timestamp_type=0,
        key=COMMAND_ID.encode(),
        value=value,
        checksum=None,
        serialized_key_size=len(COMMAND_ID),
        serialized_value_size=len(value),
        headers=headers,
    )


def test_a_command_signed_with_the_key_is_accepted() -> None:
    value, headers = signed()
    assert SIGNER.problem(value, headers) is None


def test_any_changed_byte_of_the_command_is_refused() -> None:
    value, headers = signed()
    for index in range(0, len(value), 37):
        changed = value[:index] + bytes([value[index] ^ 1]) + value[index + 1 :]
        assert SIGNER.problem(changed, headers) is not None, index


def test_a_missing_repeated_or_other_keys_mac_is_refused() -> None:
    value, headers = signed()
    plain = [h for h in headers if h[0] != HEADER]
    mac = next(h for h in headers if h[0] == HEADER)
    other = CommandSigner(b"x" * 32).headers(envelope_of(command("q-1")))
    assert "not signed" in str(SIGNER.problem(value, plain))
    assert SIGNER.problem(value, [*headers, mac]) is not None
    assert SIGNER.problem(value, [*plain, *other]) is not None


def test_a_disabled_signer_adds_no_header_and_checks_nothing() -> None:
    disabled = CommandSigner(None)
    assert disabled.headers(envelope_of(command("q-1"))) == ()
    assert disabled.problem(b"anything", []) is None


def test_a_short_key_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 32 bytes"):
        CommandSigner(b"short")


def test_the_executor_settings_fail_closed_without_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UNRIP_COMMAND_SIGNING_KEY", raising=False)
    with pytest.raises(ValidationError, match="UNRIP_COMMAND_SIGNING_KEY is not set"):
        ExecutorSettings()
    assert not ExecutorSettings(command_signing_disabled=True).command_signer().enabled
    assert ExecutorSettings(command_signing_key=KEY.decode()).command_signer().enabled


def test_the_planner_dead_letters_an_unsigned_command_before_the_ledger_sees_it() -> None:
    looked_up: list[str] = []

    def ledger(partition: int, command_id: str) -> None:
        looked_up.append(command_id)

    planner = Planner(instance_id="e-1", execution_venue="paper", ledger=ledger, signer=SIGNER)
    value, headers = signed()
    unsigned = [h for h in headers if h[0] != HEADER]
    plan = BatchPlan()
    planner.classify(plan, HOME, record(value, unsigned), datetime.now(UTC))
    assert plan.to_execute == [] and looked_up == []
    [dead] = plan.outgoing
    assert dead.topic == f"dlq.{CMD_EXECUTE_TRADE}"
    assert dead.envelope.payload.reason_code == "unauthenticated"

    plan = BatchPlan()
    planner.classify(plan, HOME, record(value, headers), datetime.now(UTC))
    assert [c.command.quote_id for c in plan.to_execute] == ["q-1"]
