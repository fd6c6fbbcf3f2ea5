"""The executor as a process on the real broker: exactly-once execution, duplicates answered
from the ledger, stale and poison commands recorded and never executed, restarts restore."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

from unrip.contracts import TradeStatus, encode
from unrip.runtime.kafka import Outgoing
from unrip.runtime.signing import CommandSigner
from unrip.strategy.document import DEFAULT_STRATEGY_PATH
from unrip.topics import CMD_EXECUTE_TRADE, EXEC_TRADE_RESULT, dlq_topic
from unrip_dev.broker import TansuBroker, free_port
from unrip_dev.supervisor import Supervisor, http_json, http_text, local_signer

from tests.factories import command, envelope_of
from tests.integration.helpers import envelopes, eventually, publish, publish_raw, records


def start(services: Supervisor, tmp_path: Path) -> str:
    venue = services.spawn_paper_venue(tmp_path / "venue.sqlite")
    services.spawn_executor("executor", venue.url)
    assert services.wait_ready(["paper-venue", "executor"], timeout_s=60) == []
    return venue.url


async def results_by_command(bootstrap: str) -> dict[str, list[bytes]]:
    by_command: dict[str, list[bytes]] = defaultdict(list)
    for record in await records(bootstrap, EXEC_TRADE_RESULT):
        by_command[json.loads(record.value)["payload"]["command_id"]].append(record.value)
    return by_command


async def test_commands_execute_once_and_bad_ones_never_do(
    broker: TansuBroker, services: Supervisor, tmp_path: Path
) -> None:
    bootstrap = broker.bootstrap_servers
    venue = start(services, tmp_path)
    good = [envelope_of(command(f"q-{n}")) for n in range(50)]
    stale = envelope_of(command("q-stale", deadline=datetime.now(UTC) - timedelta(seconds=1)))
    forged = envelope_of(command("q-forged", client_order_id="u" + "0" * 31))
    sends = [*good, *good[:10], stale, forged]
    await publish(bootstrap, [Outgoing(CMD_EXECUTE_TRADE, e.payload.command_id, e) for e in sends])
    await publish_raw(bootstrap, CMD_EXECUTE_TRADE, b"{not json", key=b"poison")
    v2_value, _ = encode(envelope_of(command("q-v2")))
    await publish_raw(
        bootstrap, CMD_EXECUTE_TRADE, v2_value.replace(b'"schema_version":1', b'"schema_version":9')
    )

    # 50 good + the stale one, then 10 re-sent answers: wait for all 61 events, not just the
    # 51 distinct commands, or the last duplicates' answers may still be on their way.
    results = await eventually(
        lambda: results_by_command(bootstrap),
        lambda r: len(r) >= 51 and sum(len(v) for v in r.values()) >= 61,
        what="61 result events",
    )
    dead = await eventually(
        lambda: envelopes(bootstrap, dlq_topic(CMD_EXECUTE_TRADE)),
        lambda d: len(d) >= 3,
        what="3 dead letters",
    )

    # Every good command: exactly one result event; duplicates got the stored bytes again.
    for e in good:
        copies = results[e.payload.command_id]
        assert len(set(copies)) == 1, copies
    assert sum(len(results[e.payload.command_id]) for e in good) == 60
    # The stale command is answered (expired) and never reaches the venue.
    [stale_result] = results[stale.payload.command_id]
    assert json.loads(stale_result)["payload"]["status"] == TradeStatus.EXPIRED
    assert forged.payload.command_id not in results
    # Poison is dead-lettered with its reason and its exact bytes, and did not block anything.
    assert sorted(d.payload.reason_code for d in dead) == [
        "invalid",
        "not_json",
        "unknown_schema_version",
    ]
    assert {d.raw for d in dead if d.payload.reason_code == "not_json"} == {"{not json"}
    assert all(
        d.payload.consumer == "executor" and d.payload.source_topic == CMD_EXECUTE_TRADE
        for d in dead
    )
    # The venue saw each good command exactly once, and nothing else.
    _, submissions = http_json(f"{venue}/v1/submissions")
    assert submissions == {e.payload.client_order_id: 1 for e in good}


async def test_a_restarted_executor_answers_old_duplicates_from_the_ledger(
    broker: TansuBroker, services: Supervisor, tmp_path: Path
) -> None:
    bootstrap = broker.bootstrap_servers
    venue = start(services, tmp_path)
    commands = [envelope_of(command(f"r-{n}")) for n in range(30)]
    await publish(
        bootstrap, [Outgoing(CMD_EXECUTE_TRADE, e.payload.command_id, e) for e in commands]
    )
    first = await eventually(
        lambda: results_by_command(bootstrap), lambda r: len(r) >= 30, what="30 results"
    )

    assert services.children["executor"].stop(timeout_s=15) == 0  # SIGTERM: clean exit
    services.spawn_executor("executor", venue)
    assert services.wait_ready(["executor"], timeout_s=60) == []

    await publish(
        bootstrap, [Outgoing(CMD_EXECUTE_TRADE, e.payload.command_id, e) for e in commands[:10]]
    )
    after = await eventually(
        lambda: results_by_command(bootstrap),
        lambda r: sum(len(v) for v in r.values()) >= 40,
        what="10 re-published results",
    )
    for e in commands[:10]:
        copies = after[e.payload.command_id]
        assert len(copies) == 2 and copies[0] == copies[1] == first[e.payload.command_id][0]
    _, submissions = http_json(f"{venue}/v1/submissions")
    assert set(submissions.values()) == {1} and len(submissions) == 30
    _, metrics = http_json(f"http://127.0.0.1:{services.children['executor'].port}/readyz")
    assert metrics == {"status": "ready"}


async def test_a_forged_command_is_dead_lettered_and_never_reaches_the_venue(
    broker: TansuBroker, services: Supervisor, tmp_path: Path
) -> None:
    bootstrap = broker.bootstrap_servers
    venue = start(services, tmp_path)
    genuine = envelope_of(command("q-genuine"))
    unsigned = envelope_of(command("q-unsigned"))
    wrong_key = envelope_of(command("q-wrong-key"))
    altered = envelope_of(command("q-altered"))
    await publish(
        bootstrap,
        [Outgoing(CMD_EXECUTE_TRADE, unsigned.payload.command_id, unsigned)],
        signed=False,
    )
    other_key = CommandSigner(b"k" * 32).headers(wrong_key)
    await publish(
        bootstrap,
        [Outgoing(CMD_EXECUTE_TRADE, wrong_key.payload.command_id, wrong_key, headers=other_key)],
        signed=False,
    )
    # A genuine MAC on other bytes: the amount changed after signing.
    value, headers = encode(altered)
    mac = local_signer().headers(altered)
    tampered = value.replace(b'"amount_in":"', b'"amount_in":"9', 1)
    assert tampered != value
    await publish_raw(bootstrap, CMD_EXECUTE_TRADE, tampered, headers=[*headers, *mac])
    await publish(bootstrap, [Outgoing(CMD_EXECUTE_TRADE, genuine.payload.command_id, genuine)])

    results = await eventually(
        lambda: results_by_command(bootstrap), lambda r: len(r) >= 1, what="the genuine result"
    )
    dead = await eventually(
        lambda: envelopes(bootstrap, dlq_topic(CMD_EXECUTE_TRADE)),
        lambda d: len(d) >= 3,
        what="3 dead letters",
    )

    assert set(results) == {genuine.payload.command_id}
    assert [d.payload.reason_code for d in dead] == ["unauthenticated"] * 3
    _, submissions = http_json(f"{venue}/v1/submissions")
    assert list(submissions) == [genuine.payload.client_order_id]


async def test_commands_arriving_while_the_kill_switch_is_on_are_refused_not_executed(
    broker: TansuBroker, services: Supervisor, tmp_path: Path
) -> None:
    bootstrap = broker.bootstrap_servers
    strategy = tmp_path / "strategy.yaml"
    strategy.write_text(DEFAULT_STRATEGY_PATH.read_text())
    venue = services.spawn_paper_venue(tmp_path / "venue.sqlite")
    services.spawn(
        "executor",
        "executor",
        free_port(),
        {"UNRIP_PAPER_VENUE_URL": venue.url, "UNRIP_EXECUTOR_STRATEGY_FILE": str(strategy)},
    )
    assert services.wait_ready(["paper-venue", "executor"], timeout_s=60) == []
    before = [envelope_of(command(f"k-{n}")) for n in range(5)]
    await publish(bootstrap, [Outgoing(CMD_EXECUTE_TRADE, e.payload.command_id, e) for e in before])
    await eventually(lambda: results_by_command(bootstrap), lambda r: len(r) >= 5, what="5")

    # The operator turns the switch on; commands already on the bus (or forged) keep coming.
    strategy.write_text(
        DEFAULT_STRATEGY_PATH.read_text().replace("kill_switch: false", "kill_switch: true")
    )
    after = [envelope_of(command(f"k-after-{n}")) for n in range(5)]
    metrics_url = f"http://127.0.0.1:{services.children['executor'].port}/metrics"
    await eventually(
        lambda: _text(metrics_url),
        lambda text: "unrip_executor_kill_switch 1.0" in (text or ""),
        what="the executor seeing the switch",
    )
    await publish(bootstrap, [Outgoing(CMD_EXECUTE_TRADE, e.payload.command_id, e) for e in after])
    results = await eventually(
        lambda: results_by_command(bootstrap), lambda r: len(r) >= 10, what="10 results"
    )

    refused = [json.loads(results[e.payload.command_id][0])["payload"] for e in after]
    assert {(p["status"], p["reason"]) for p in refused} == {("rejected", "kill_switch")}
    _, submissions = http_json(f"{venue.url}/v1/submissions")
    assert set(submissions) == {e.payload.client_order_id for e in before}


async def _text(url: str) -> str | None:
    return http_text(url)
