"""What every service promises operators: probes, metrics, JSON logs, clean SIGTERM/SIGINT,
and a clear refusal of bad configuration that never prints the offending value."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import pytest
from unrip_dev.broker import TansuBroker, free_port
from unrip_dev.supervisor import LOCAL_COMMAND_SIGNING_KEY, Supervisor, http_json, http_text


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_reactor_serves_probes_and_stops_cleanly_on_signal(
    broker: TansuBroker, services: Supervisor, sig: signal.Signals
) -> None:
    child = services.spawn("reactor", "reactor", free_port())
    assert services.wait_ready(["reactor"], timeout_s=60) == []
    assert http_json(f"{child.url}/healthz") == (200, {"status": "ok", "service": "reactor"})
    metrics = http_text(f"{child.url}/metrics") or ""
    assert "unrip_reactor_demands_total" in metrics and "unrip_reactor_kill_switch 0.0" in metrics

    started = time.monotonic()
    child.signal(sig)
    assert child.process is not None
    assert child.process.wait(timeout=15) == 0
    assert time.monotonic() - started < 10  # well inside the 10 s grace the fixture sets
    lines = [
        json.loads(line) for line in child.log_path.read_text().splitlines() if line.startswith("{")
    ]
    assert lines, "logs must be JSON lines"
    assert all({"ts", "level", "message", "service"} <= line.keys() for line in lines)
    assert any(line["message"] == "stop requested" and line["signal"] == sig.name for line in lines)


def test_readiness_is_false_until_partitions_are_assigned(
    broker: TansuBroker, services: Supervisor
) -> None:
    child = services.spawn("monitor", "monitor", free_port())
    reasons_seen: list[list[str]] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status, body = http_json(f"{child.url}/readyz")
        if status == 503:
            assert body["status"] == "not ready"
            reasons_seen.append(body["reasons"])
        if status == 200:
            break
        time.sleep(0.05)  # polling the probe while the consumer joins its group
    assert status == 200
    # The probe said why: the group had not assigned the monitor its partitions yet.
    assert any("partitions assigned" in reasons for reasons in reasons_seen), reasons_seen


def test_bad_configuration_is_refused_with_the_variable_named_and_the_value_hidden() -> None:
    secret_looking = "hunter2-not-a-port"
    result = subprocess.run(
        [sys.executable, "-m", "unrip", "reactor"],
        env={"UNRIP_HTTP_PORT": secret_looking, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "UNRIP_HTTP_PORT" in result.stderr
    assert secret_looking not in result.stderr + result.stdout


def test_executor_refuses_to_run_on_topics_that_are_not_co_partitioned(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import asyncio

    from unrip.runtime.kafka import ensure_topics
    from unrip.topics import CATALOGUE, STATE_EXECUTOR_LEDGER, TopicSpec

    wrong = [
        s
        if s.name != STATE_EXECUTOR_LEDGER
        else TopicSpec(s.name, 3, s.key, s.retention_ms, s.cleanup_policy, s.description)
        for s in CATALOGUE
    ]
    with (tmp_path / "b.log").open("ab") as log, TansuBroker(log=log) as other:
        asyncio.run(ensure_topics(other.bootstrap_servers, wrong))
        supervisor = Supervisor(
            tmp_path,
            {
                "PATH": "/usr/bin:/bin",
                "UNRIP_KAFKA_BOOTSTRAP_SERVERS": other.bootstrap_servers,
                "UNRIP_COMMAND_SIGNING_KEY": LOCAL_COMMAND_SIGNING_KEY,
            },
        )
        venue = supervisor.spawn_paper_venue(tmp_path / "v.sqlite")
        assert supervisor.wait_ready(["paper-venue"], 30) == []
        executor = supervisor.spawn_executor("executor", venue.url)
        try:
            assert executor.process is not None
            assert executor.process.wait(timeout=60) == 1
            assert "must be co-partitioned" in executor.log_path.read_text()
        finally:
            supervisor.stop_all(10)


def test_live_near_execution_refuses_to_start_without_its_key() -> None:
    key = "ed25519:ThisIsNotARealKeyButLooksSecret"
    base = {
        "PATH": "/usr/bin:/bin",
        "UNRIP_EXECUTOR_VENUE": "near_intents",
        "UNRIP_COMMAND_SIGNING_KEY": LOCAL_COMMAND_SIGNING_KEY,
    }
    for env in (base, {**base, "UNRIP_NEAR_INTENTS_SIGNING_KEY": key}):
        result = subprocess.run(
            [sys.executable, "-m", "unrip", "executor"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 2
        assert "refused" in result.stderr and "UNRIP_NEAR_INTENTS_" in result.stderr
        assert key not in result.stderr + result.stdout
        assert "ThisIsNotARealKey" not in result.stderr + result.stdout


def test_the_reactor_and_executor_refuse_to_start_without_the_command_key() -> None:
    short = "too-short-a-key"
    for service in ("reactor", "executor"):
        for extra in ({}, {"UNRIP_COMMAND_SIGNING_KEY": short}):
            result = subprocess.run(
                [sys.executable, "-m", "unrip", service],
                env={"PATH": "/usr/bin:/bin", **extra},
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert result.returncode == 2, (service, result.stderr)
            assert "UNRIP_COMMAND_SIGNING_KEY" in result.stderr, (service, result.stderr)
            assert short not in result.stderr + result.stdout
