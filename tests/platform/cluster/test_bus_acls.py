"""The bus's access map (unrip_platform.cluster.bus_acls): every service principal may produce
and consume exactly what the map says, and the map covers the whole catalogue."""

from __future__ import annotations

import pytest
from unrip import topics
from unrip.executor.settings import ExecutorSettings
from unrip.monitor.service import MonitorSettings
from unrip.reactor.service import ReactorSettings
from unrip_platform.cluster import bus_acls

pytestmark = pytest.mark.platform

Grant = tuple[str, str, str, str]  # user, operation, resource kind, resource name


def granted() -> set[Grant]:
    """Every (principal, operation, kind, name) the generated ACLs allow."""
    return {(g.principal, g.operation, g.resource, g.name) for g in bus_acls.all_grants()}


def test_each_principal_may_do_exactly_what_the_map_says() -> None:
    expected: set[Grant] = set()
    for p in bus_acls.PRINCIPALS:
        user = f"User:{p.user}"
        for topic in p.produces:
            expected |= {(user, "write", "topic", topic), (user, "describe", "topic", topic)}
        for topic in p.consumes:
            expected |= {(user, "read", "topic", topic), (user, "describe", "topic", topic)}
        for topic in p.administers:
            expected |= {
                (user, op, "topic", topic)
                for op in ("create", "alter", "alterconfigs", "describe", "describeconfigs")
            }
        expected |= {(user, "read", "group", group) for group in p.groups}
    assert granted() == expected
    # No wildcard principal or resource, no ALL, nothing on the cluster or transactional ids.
    assert not [g for g in granted() if "*" in g[3] or g[0] == "User:*" or g[1] == "all"]
    assert {g[2] for g in granted()} == {"topic", "group"}


# Who writes each catalogue topic, written out by hand: adding a writer in bus_acls.py without
# changing this table fails the test below.
WRITERS: dict[str, set[str]] = {
    topics.RAW_NEAR_INTENTS_QUOTE: {"ingest"},
    topics.NORM_SWAP_DEMAND: {"ingest"},
    topics.RAW_NEAR_INTENTS_TOKENS: {"ingest-prices"},
    topics.NORM_REFERENCE_PRICE: {"ingest-prices"},
    topics.CMD_EXECUTE_TRADE: {"reactor"},
    topics.AUDIT_REACTOR_SKIP: {"reactor"},
    topics.AUDIT_RISK_TRIP: {"reactor"},
    topics.STATE_EXECUTOR_LEDGER: {"executor"},
    topics.EXEC_TRADE_RESULT: {"executor"},
    topics.STATE_MONITOR: {"monitor"},
    topics.STATE_REACTOR: {"reactor"},
    topics.dlq_topic(topics.RAW_NEAR_INTENTS_QUOTE): {"ingest"},
    topics.dlq_topic(topics.RAW_NEAR_INTENTS_TOKENS): {"ingest-prices"},
    topics.dlq_topic(topics.NORM_SWAP_DEMAND): {"reactor"},
    topics.dlq_topic(topics.EXEC_TRADE_RESULT): {"reactor", "monitor"},
    topics.dlq_topic(topics.CMD_EXECUTE_TRADE): {"executor"},
}


def test_every_catalogue_topic_has_exactly_its_declared_writers() -> None:
    writers = {
        spec.name: {
            g.user.removeprefix(bus_acls.USER_PREFIX)
            for g in bus_acls.all_grants()
            if g.operation == "write" and g.name == spec.name
        }
        for spec in topics.CATALOGUE
    }
    assert writers == WRITERS


def test_only_the_reactor_writes_commands_and_only_the_executor_the_ledger_and_results() -> None:
    writers = {
        topic: {user for user, op, kind, name in granted() if op == "write" and name == topic}
        for topic in (
            topics.CMD_EXECUTE_TRADE,
            topics.STATE_EXECUTOR_LEDGER,
            topics.EXEC_TRADE_RESULT,
        )
    }
    assert writers == {
        topics.CMD_EXECUTE_TRADE: {"User:unrip-reactor"},
        topics.STATE_EXECUTOR_LEDGER: {"User:unrip-executor"},
        topics.EXEC_TRADE_RESULT: {"User:unrip-executor"},
    }


def test_every_catalogue_topic_has_a_producer_and_nothing_outside_it_is_granted() -> None:
    catalogue = {spec.name for spec in topics.CATALOGUE}
    produced = set().union(*(p.produces for p in bus_acls.PRINCIPALS))
    consumed = set().union(*(p.consumes for p in bus_acls.PRINCIPALS))
    assert produced == catalogue
    assert consumed <= catalogue
    assert {name for _, _, kind, name in granted() if kind == "topic"} == catalogue


def test_the_topic_job_administers_the_catalogue_and_reads_or_writes_no_record() -> None:
    job = bus_acls.BY_SERVICE[bus_acls.TOPIC_JOB]
    assert job.administers == {spec.name for spec in topics.CATALOGUE}
    assert not (job.produces or job.consumes or job.groups)
    assert all(not p.administers for p in bus_acls.PRINCIPALS if p is not job)
    assert bus_acls.TOPIC_JOB not in bus_acls.APP_SERVICES


def test_a_service_writes_a_dead_letter_topic_only_for_a_topic_it_reads_or_writes() -> None:
    for p in bus_acls.PRINCIPALS:
        for topic in p.produces:
            if topic.startswith("dlq."):
                source = topic.removeprefix("dlq.")
                assert source in p.consumes | p.produces, (p.service, topic)


def test_the_groups_are_the_services_default_group_ids() -> None:
    assert bus_acls.BY_SERVICE["reactor"].groups == {
        ReactorSettings.model_fields["reactor_group_id"].default
    }
    assert bus_acls.BY_SERVICE["executor"].groups == {
        ExecutorSettings.model_fields["executor_group_id"].default
    }
    assert bus_acls.BY_SERVICE["monitor"].groups == {
        MonitorSettings.model_fields["monitor_group_id"].default
    }
