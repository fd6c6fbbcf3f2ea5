"""The topic catalogue: one definition per topic, sane settings, co-partitioning."""

from __future__ import annotations

import pytest
from unrip import topics


def test_catalogue_names_are_unique_and_classified() -> None:
    names = [spec.name for spec in topics.CATALOGUE]
    assert len(names) == len(set(names))
    classes = {"raw", "norm", "cmd", "exec", "audit", "state", "dlq"}
    assert {name.split(".")[0] for name in names} <= classes


def test_the_first_topics_of_the_design_exist() -> None:
    for name in (
        "raw.near_intents.quote",
        "norm.swap_demand",
        "cmd.execute_trade",
        "exec.trade_result",
    ):
        assert topics.spec(name).partitions >= 1


def test_every_consumed_topic_has_a_dead_letter_topic() -> None:
    for source in (
        topics.RAW_NEAR_INTENTS_QUOTE,
        topics.NORM_SWAP_DEMAND,
        topics.CMD_EXECUTE_TRADE,
        topics.EXEC_TRADE_RESULT,
    ):
        assert topics.dlq_topic(source) in topics.BY_NAME


def test_ledger_is_compacted_and_co_partitioned_with_commands() -> None:
    ledger = topics.spec(topics.STATE_EXECUTOR_LEDGER)
    commands = topics.spec(topics.CMD_EXECUTE_TRADE)
    assert ledger.cleanup_policy is topics.CleanupPolicy.COMPACT
    assert ledger.partitions == commands.partitions
    assert ledger.key == commands.key == "command_id"
    assert ledger.configs()["cleanup.policy"] == "compact"


def test_configs_are_kafka_strings() -> None:
    for spec in topics.CATALOGUE:
        configs = spec.configs()
        assert all(isinstance(k, str) and isinstance(v, str) for k, v in configs.items())
        assert int(configs["retention.ms"]) > 0


def test_unknown_topic_fails_loudly() -> None:
    with pytest.raises(KeyError, match="not in the catalogue"):
        topics.spec("raw.typo")
