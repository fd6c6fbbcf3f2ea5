"""The topic job creates exactly the catalogue's topics, idempotently, and reconciles them.

Its real script runs under bash against a stand-in ``rpk`` (fake_rpk.py), the one boundary that
cannot be reached here.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from unrip import topics
from unrip_platform import names
from unrip_platform.cluster.settings import ClusterSettings, RedpandaSettings
from unrip_platform.cluster.topics import SCRIPT_KEY, topic_job_manifests

from tests.platform.cluster.rpk_stand_in import FakeRpk

pytestmark = pytest.mark.platform


class Brokers(FakeRpk):
    """The fake rpk's state, and a way to run the job's script against it."""

    def run(self, script: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", script], env=self.env, capture_output=True, text=True, timeout=60
        )

    def topics(self) -> dict[str, Any]:
        return dict(json.loads(self.state.read_text())["topics"])

    def writes(self) -> list[list[str]]:
        calls = [c["argv"] for c in json.loads(self.state.read_text())["calls"]]
        return [c for c in calls if c[:2] in (["topic", "create"], ["topic", "add-partitions"])]

    def seed(self, name: str, partitions: int) -> None:
        self.state.write_text(
            json.dumps(
                {
                    "topics": {name: {"partitions": partitions, "replicas": 1, "configs": {}}},
                    "calls": [],
                }
            )
        )


def job_script(
    settings: ClusterSettings, catalogue: tuple[topics.TopicSpec, ...] = topics.CATALOGUE
) -> str:
    configmap = next(
        m for m in topic_job_manifests(settings, catalogue) if m["kind"] == "ConfigMap"
    )
    return str(configmap["data"][SCRIPT_KEY])


@pytest.fixture
def brokers(tmp_path: Path) -> Brokers:
    return Brokers(tmp_path)


def test_job_creates_exactly_the_catalogue(brokers: Brokers, settings: ClusterSettings) -> None:
    result = brokers.run(job_script(settings))
    assert result.returncode == 0, result.stderr
    created = brokers.topics()
    assert sorted(created) == sorted(spec.name for spec in topics.CATALOGUE)
    for spec in topics.CATALOGUE:
        assert created[spec.name]["partitions"] == spec.partitions
        assert created[spec.name]["configs"] == spec.configs()
        assert created[spec.name]["replicas"] == 1


def test_second_run_changes_nothing(brokers: Brokers, settings: ClusterSettings) -> None:
    script = job_script(settings)
    assert brokers.run(script).returncode == 0
    before, writes = brokers.topics(), len(brokers.writes())
    result = brokers.run(script)
    assert result.returncode == 0, result.stderr
    assert brokers.topics() == before
    assert len(brokers.writes()) == writes


def test_partitions_grow_to_the_catalogue(brokers: Brokers, settings: ClusterSettings) -> None:
    spec = topics.spec(topics.NORM_SWAP_DEMAND)
    brokers.seed(spec.name, 2)
    assert brokers.run(job_script(settings)).returncode == 0
    topic = brokers.topics()[spec.name]
    assert topic["partitions"] == spec.partitions
    assert topic["configs"] == spec.configs()


def test_more_partitions_than_the_catalogue_fails_loudly(
    brokers: Brokers, settings: ClusterSettings
) -> None:
    spec = topics.spec(topics.CMD_EXECUTE_TRADE)
    brokers.seed(spec.name, spec.partitions + 2)
    result = brokers.run(job_script(settings))
    assert result.returncode == 1
    assert spec.name in result.stderr
    # The other topics are still reconciled before the job reports the failure.
    assert len(brokers.topics()) == len(topics.CATALOGUE)


def test_configs_are_reconciled(brokers: Brokers, settings: ClusterSettings) -> None:
    spec = topics.spec(topics.STATE_EXECUTOR_LEDGER)
    assert brokers.run(job_script(settings)).returncode == 0
    longer = replace(spec, retention_ms=spec.retention_ms * 2)
    catalogue = tuple(longer if s.name == spec.name else s for s in topics.CATALOGUE)
    assert brokers.run(job_script(settings, catalogue)).returncode == 0
    assert brokers.topics()[spec.name]["configs"]["retention.ms"] == str(longer.retention_ms)


def test_replication_follows_the_broker_count(brokers: Brokers) -> None:
    settings = ClusterSettings(redpanda=RedpandaSettings(replicas=5))
    assert brokers.run(job_script(settings)).returncode == 0
    assert {t["replicas"] for t in brokers.topics().values()} == {3}


def test_a_catalogue_change_makes_a_new_job(settings: ClusterSettings) -> None:
    def job_name(catalogue: tuple[topics.TopicSpec, ...]) -> str:
        job = next(m for m in topic_job_manifests(settings, catalogue) if m["kind"] == "Job")
        return str(job["metadata"]["name"])

    assert job_name(topics.CATALOGUE) == job_name(topics.CATALOGUE)
    assert job_name(topics.CATALOGUE) != job_name(topics.CATALOGUE[:-1])


def test_job_uses_the_redpanda_image_not_the_apps(settings: ClusterSettings) -> None:
    job = next(m for m in topic_job_manifests(settings) if m["kind"] == "Job")
    [container] = job["spec"]["template"]["spec"]["containers"]
    assert container["image"] == settings.images.redpanda
    assert {"name": "BROKERS", "value": names.KAFKA_BOOTSTRAP_IN_CLUSTER} in container["env"]
