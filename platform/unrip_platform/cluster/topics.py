"""The topic job: makes Redpanda's topics match the one catalogue (``unrip.topics.CATALOGUE``).

It runs the Redpanda image's ``rpk`` (the apps' image does not exist yet when the platform is
installed: Forgejo Actions builds it later). The script is the static ``ensure_topics.sh`` plus one
``ensure_topic`` call per catalogue entry. The Job's name carries a hash of the script, so a
catalogue change creates a new Job (Jobs are immutable) and an unchanged catalogue is a no-op.
It logs in as its own SCRAM user (``unrip-topics``, Secret ``bus-topics``), whose ACLs allow
administering exactly the catalogue's topics (``bus_acls``); the bus-access Job runs first.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from dataclasses import dataclass
from importlib.resources import files
from typing import Final

from unrip import topics

from unrip_platform import names
from unrip_platform.cluster import bus_acls
from unrip_platform.cluster.common import (
    Manifest,
    content_hash,
)
from unrip_platform.cluster.namespaces import TOPICS_APP
from unrip_platform.cluster.redpanda import replication_factor, rpk_auth_env, rpk_script_job
from unrip_platform.cluster.settings import ClusterSettings

NS: Final = names.NAMESPACE_PLATFORM
COMPONENT: Final = "event-bus"
SCRIPT_KEY: Final = "ensure-topics.sh"


@dataclass(frozen=True, slots=True)
class TopicPlan:
    """What the job asks the brokers for, one topic."""

    name: str
    partitions: int
    replicas: int
    configs: tuple[tuple[str, str], ...]


def plan(catalogue: Iterable[topics.TopicSpec], replicas: int) -> list[TopicPlan]:
    rf = replication_factor(replicas)
    return [
        TopicPlan(spec.name, spec.partitions, rf, tuple(sorted(spec.configs().items())))
        for spec in catalogue
    ]


def script(plans: Iterable[TopicPlan]) -> str:
    header = files("unrip_platform.cluster").joinpath("ensure_topics.sh").read_text()
    calls = [
        shlex.join(
            [
                "ensure_topic",
                p.name,
                str(p.partitions),
                str(p.replicas),
                *(f"{key}={value}" for key, value in p.configs),
            ]
        )
        for p in plans
    ]
    footer = [
        "if ((failures > 0)); then",
        '    echo "error: ${failures} topic(s) could not be reconciled" >&2',
        "    exit 1",
        "fi",
        'echo "topics match the catalogue"',
    ]
    return "\n".join([header.rstrip("\n"), *calls, *footer]) + "\n"


def topic_job_manifests(
    settings: ClusterSettings, catalogue: Iterable[topics.TopicSpec] = topics.CATALOGUE
) -> list[Manifest]:
    body = script(plan(catalogue, settings.redpanda.replicas))
    suffix = content_hash(body, settings.images.redpanda)
    name = f"{TOPICS_APP}-{suffix}"
    env = [
        {"name": "BROKERS", "value": names.KAFKA_BOOTSTRAP_IN_CLUSTER},
        {"name": "HOME", "value": "/tmp"},  # noqa: S108
        *rpk_auth_env(
            bus_acls.BY_SERVICE[bus_acls.TOPIC_JOB].user, names.bus_secret(bus_acls.TOPIC_JOB)
        ),
    ]
    return rpk_script_job(
        settings,
        app=TOPICS_APP,
        name=name,
        container="ensure-topics",
        script_key=SCRIPT_KEY,
        script=body,
        env=env,
    )
