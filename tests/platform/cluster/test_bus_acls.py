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
    """Every (user, operation, kind, name) the rendered rpk commands allow."""
    grants = set()
    for principal in bus_acls.PRINCIPALS:
        for command in bus_acls.acl_commands(principal):
            assert command[:3] == ["security", "acl", "create"]
            options = dict(zip(command[3::2], command[4::2], strict=True))
            resource = set(options) - {"--allow-principal", "--operation"}
            assert resource in ({"--topic"}, {"--group"}), command
            kind = "topic" if "--topic" in options else "group"
            for operation in options["--operation"].split(","):
                grants.add((options["--allow-principal"], operation, kind, options[f"--{kind}"]))
    return grants


def test_each_principal_may_do_exactly_what_the_map_says() -> None:
    expected: set[Grant] = set()
    for p in bus_acls.PRINCIPALS:
        user = f"User:{p.user}"
        for topic in p.produces:
            expected |= {(user, "write", "topic", topic), (user, "describe", "topic", topic)}
        for topic in p.consumes:
            expected |= {(user, "read", "topic", topic), (user, "describe", "topic", topic)}
        expected |= {(user, "read", "group", group) for group in p.groups}
    assert granted() == expected
    assert not [g for g in granted() if "*" in g[3] or g[0] == "User:*"]


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
