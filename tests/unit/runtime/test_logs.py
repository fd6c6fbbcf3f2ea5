"""Log lines: millisecond UTC timestamps, and the ids of the command or demand they are about."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import pytest
from unrip.runtime.dlq import dead_letter
from unrip.runtime.log_context import MAX_IDS_PER_LINE, ContextFilter, bind
from unrip.runtime.logs import json_formatter

from tests.factories import command as trade_command
from tests.factories import envelope_of


class Lines:
    def __init__(self, stream: io.StringIO) -> None:
        self._stream = stream

    def all(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self._stream.getvalue().splitlines()]


@pytest.fixture
def lines() -> Iterator[Lines]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter("svc", "svc-1"))
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield Lines(stream)
    root.removeHandler(handler)
    root.setLevel(previous)


def test_timestamps_are_utc_with_milliseconds(lines: Lines) -> None:
    logging.getLogger("t").info("hello")
    (line,) = lines.all()
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["ts"]), line["ts"]
    assert (line["service"], line["instance"], line["message"]) == ("svc", "svc-1", "hello")


def test_lines_logged_while_bound_carry_the_ids_and_only_then(lines: Lines) -> None:
    log = logging.getLogger("t")
    with bind(command_id="cmd-1", correlation_id="demand-1"):
        log.info("about the command")
    log.info("about nothing in particular")
    about, other = lines.all()
    assert (about["command_id"], about["correlation_id"]) == ("cmd-1", "demand-1")
    assert "command_id" not in other and "correlation_id" not in other


def test_a_batch_names_its_commands_and_a_batch_of_one_its_command(lines: Lines) -> None:
    log = logging.getLogger("t")
    tags = bind(command_ids=["a", "b"])
    log.info("batch")
    tags.reset()
    with bind(command_ids=["only"]):
        log.info("one")
    with bind(command_ids=[f"c{i}" for i in range(MAX_IDS_PER_LINE + 5)]):
        log.info("many")
    batch, one, many = lines.all()
    assert batch["command_ids"] == ["a", "b"] and "command_id" not in batch
    assert one["command_id"] == "only"
    assert len(many["command_ids"]) == MAX_IDS_PER_LINE


async def test_a_task_started_while_bound_keeps_the_ids(lines: Lines) -> None:
    release = asyncio.Event()

    async def settle() -> None:
        await release.wait()
        logging.getLogger("venue").info("settled")

    with bind(command_id="cmd-9"):
        task = asyncio.ensure_future(settle())
    release.set()
    await task
    (line,) = lines.all()
    assert line["command_id"] == "cmd-9"


def test_a_dead_lettered_command_names_its_command_and_demand(lines: Lines) -> None:
    command = trade_command()
    envelope = envelope_of(command, correlation_id="demand-7")
    dead_letter(
        source_topic="cmd.execute_trade",
        value=envelope.to_bytes(),
        reason_code="invalid",
        detail="test",
        consumer="executor",
        venue="paper",
        key=command.command_id.encode(),
        headers=envelope.header_pairs(),
    )
    (line,) = lines.all()
    assert line["message"] == "dead-lettered"
    assert (line["command_id"], line["correlation_id"]) == (command.command_id, "demand-7")
