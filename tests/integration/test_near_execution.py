"""The executor on NEAR Intents as a process, against the relay and chain stand-in process:
quotes answered while earlier ones settle, SIGTERM hands them off, the successor resolves them
from the chain, and every command gets exactly one result with no quote answered twice."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from unrip.runtime.kafka import Outgoing
from unrip.topics import CMD_EXECUTE_TRADE, EXEC_TRADE_RESULT
from unrip.venues.near_intents.nep413 import Ed25519Signer
from unrip_dev.broker import free_port
from unrip_dev.supervisor import Supervisor

from tests.factories import command, envelope_of
from tests.integration.helpers import eventually, publish, records

JWT = "standin-jwt"
COMMANDS = 200


@pytest.fixture
def standin() -> Iterator[dict[str, str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "unrip_dev.venues.near_intents.standin", "--jwt", JWT],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    urls: dict[str, str] = json.loads(process.stdout.readline())
    yield urls
    process.terminate()
    process.wait(10)


async def stats(rpc_url: str) -> dict[str, Any]:
    async with httpx.AsyncClient() as client:
        body = {"jsonrpc": "2.0", "id": 1, "method": "unrip_stats"}
        answer = (await client.post(rpc_url, json=body)).json()
    return answer["result"]  # type: ignore[no-any-return]


async def results(bootstrap: str) -> dict[str, list[dict[str, Any]]]:
    by_command: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in await records(bootstrap, EXEC_TRADE_RESULT):
        payload = json.loads(record.value)["payload"]
        by_command[payload["command_id"]].append(payload)
    return by_command


def spawn_executor(services: Supervisor, name: str, urls: dict[str, str], key: str) -> None:
    services.spawn(
        name,
        "executor",
        free_port(),
        {
            "UNRIP_EXECUTOR_VENUE": "near_intents",
            "UNRIP_NEAR_INTENTS_RELAY_URL": urls["relay_url"],
            "UNRIP_NEAR_INTENTS_RPC_URL": urls["rpc_url"],
            "UNRIP_NEAR_INTENTS_JWT": JWT,
            "UNRIP_NEAR_INTENTS_SOLVER_ACCOUNT_ID": "solver.near",
            "UNRIP_NEAR_INTENTS_SIGNING_KEY": key,
            "UNRIP_NEAR_INTENTS_SETTLE_GRACE_MS": "500",
        },
    )
    assert services.wait_ready([name], timeout_s=60) == []


@pytest.mark.timeout(300)
async def test_quotes_outstanding_at_a_sigterm_are_resolved_once_by_the_successor(
    broker: Any, services: Supervisor, standin: dict[str, str], tmp_path: Path
) -> None:
    bootstrap = broker.bootstrap_servers
    key = Ed25519Signer.generate().near_secret()
    spawn_executor(services, "executor-1", standin, key)
    # Answerable for 5 s, each quote valid 3 s more: losers settle ~8 s after being sent.
    deadline = datetime.now(UTC) + timedelta(seconds=5)
    sends = [
        envelope_of(command(f"n-{n}", deadline=deadline, quote_validity_ms=3000))
        for n in range(COMMANDS)
    ]
    await publish(bootstrap, [Outgoing(CMD_EXECUTE_TRADE, e.payload.command_id, e) for e in sends])
    seen = await eventually(
        lambda: stats(standin["rpc_url"]),
        lambda s: s["quotes"] >= COMMANDS,
        what="every quote answered",
    )
    # Hundreds of quotes outstanding (none has reached its intent deadline): hand them off.
    assert seen["quote_responses"] >= COMMANDS
    assert services.children["executor-1"].stop(timeout_s=30) == 0
    spawn_executor(services, "executor-2", standin, key)

    by_command = await eventually(
        lambda: results(bootstrap),
        lambda r: len(r) >= COMMANDS,
        timeout_s=120,
        what="a result for every command",
    )
    final = await stats(standin["rpc_url"])
    assert final["duplicates"] == 0  # no quote answered twice, restart included
    assert all(len(copies) == 1 for copies in by_command.values())
    statuses = [copies[0]["status"] for copies in by_command.values()]
    assert statuses.count("filled") == final["fills"]
    assert statuses.count("not_filled") == COMMANDS - final["fills"]
