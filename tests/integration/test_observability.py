"""What an operator and Prometheus see of a running pipeline, every service its own process on
the real broker: /status says what each service owns, holds and why it trades or not, and the
metric names every alert rule and dashboard reads are exported by the running services."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from unrip.runtime.kafka import ensure_topics
from unrip.topics import CATALOGUE, CMD_EXECUTE_TRADE, NORM_SWAP_DEMAND
from unrip_dev.broker import TansuBroker, free_port
from unrip_dev.supervisor import Supervisor, http_json, http_text, local_env
from unrip_dev.tally import Tally, tally_bus
from unrip_platform.cluster.monitoring import alerting_rules, dashboards

from tests.integration.helpers import eventually, static_strategy
from tests.integration.test_pipeline import feed_with_poison
from tests.platform.monitoring.known_metrics import PLATFORM_METRICS, Exported, sample_names
from tests.platform.monitoring.promql import metric_names

SERVICES = ("paper-venue", "executor", "reactor", "monitor", "ingest")


class Pipeline:
    def __init__(self, supervisor: Supervisor, tally: Tally) -> None:
        self.supervisor = supervisor
        self.tally = tally

    def status(self, name: str) -> dict[str, Any]:
        code, body = http_json(f"{self.supervisor.children[name].url}/status")
        assert code == 200, (name, body)
        assert isinstance(body, dict)
        return body

    def metrics(self, name: str) -> str:
        text = http_text(f"{self.supervisor.children[name].url}/metrics")
        assert text is not None, name
        return text


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    """A settled run of a recorded feed with poison in it, the services left running."""
    tmp = tmp_path_factory.mktemp("observability")
    with (tmp / "broker.log").open("ab") as log, TansuBroker(log=log) as broker:
        asyncio.run(ensure_topics(broker.bootstrap_servers, CATALOGUE))
        supervisor = Supervisor(
            tmp, {**local_env(broker.bootstrap_servers), "UNRIP_SHUTDOWN_GRACE_S": "10"}
        )
        try:
            feed = tmp / "feed.jsonl"
            feed_with_poison(feed, 120)
            venue = supervisor.spawn_paper_venue(tmp / "venue.sqlite")
            supervisor.spawn(
                "executor", "executor", free_port(), {"UNRIP_PAPER_VENUE_URL": venue.url}
            )
            strategy = static_strategy(tmp / "strategy.yaml")  # trades without a price feed
            supervisor.spawn(
                "reactor", "reactor", free_port(), {"UNRIP_REACTOR_STRATEGY_FILE": str(strategy)}
            )
            supervisor.spawn("monitor", "monitor", free_port())
            assert (
                supervisor.wait_ready(["paper-venue", "executor", "reactor", "monitor"], 60) == []
            )
            supervisor.spawn(
                "ingest",
                "ingest",
                free_port(),
                {
                    "UNRIP_INGEST_FEED_PATH": str(feed),
                    "UNRIP_INGEST_FEED_PACE": "fast",
                    "UNRIP_NEAR_INTENTS_RESPONSE_WINDOW_MS": "60000",
                },
            )

            async def settled() -> Tally:
                return await tally_bus(broker.bootstrap_servers)

            def complete(t: Tally) -> bool:
                return bool(t.demands) and not t.undecided and not t.without_result

            tally = asyncio.run(eventually(settled, complete, timeout_s=90, what="a settled run"))

            def monitor_caught_up(t: Tally) -> bool:
                _, stats = http_json(f"{supervisor.children['monitor'].url}/stats")
                return isinstance(stats, dict) and stats.get("results") == len(t.results)

            asyncio.run(eventually(settled, monitor_caught_up, timeout_s=30, what="monitor"))
            yield Pipeline(supervisor, tally)
        finally:
            supervisor.stop_all(timeout_s=15)


def test_every_service_serves_status_with_its_identity(pipeline: Pipeline) -> None:
    for name in SERVICES:
        body = pipeline.status(name)
        assert body["service"] == name
        assert body["instance"] == name
        assert body["ready"] is True and body["not_ready"] == []


def test_the_executor_status_shows_its_partitions_ledger_and_nothing_left_in_flight(
    pipeline: Pipeline,
) -> None:
    body = pipeline.status("executor")
    partitions = next(t.partitions for t in CATALOGUE if t.name == CMD_EXECUTE_TRADE)
    assert body["consumer"]["partitions"] == {CMD_EXECUTE_TRADE: list(range(partitions))}
    assert body["consumer"]["lag"] == {CMD_EXECUTE_TRADE: 0}
    assert body["consumer"]["last_event_at"] is not None
    assert body["ledger"]["partitions"] == list(range(partitions))
    assert body["ledger"]["entries"] == len(pipeline.tally.commands)
    assert body["in_flight"]["count"] == 0
    assert body["in_flight"]["oldest_age_s"] == 0
    assert body["in_flight"]["overdue"] is False
    assert body["venue"] == "paper"


def test_the_reactor_status_says_whether_it_trades_and_its_risk(pipeline: Pipeline) -> None:
    body = pipeline.status("reactor")
    assert body["kill_switch"] == {"on": False, "forced_by_staleness": False, "reason": None}
    assert body["strategy"]["source"].startswith("file ")
    risk = body["risk"]
    assert risk["decided_demands_today"] == len(pipeline.tally.demands)
    assert risk["open_commands"] == 0  # every command has its result
    assert risk["daily_loss_limit_tripped"] is False
    assert NORM_SWAP_DEMAND in body["consumer"]["partitions"]


def test_the_ingest_status_shows_its_source_and_what_it_rejected(pipeline: Pipeline) -> None:
    body = pipeline.status("ingest")
    assert (body["venue"], body["source"]) == ("near_intents", "file")
    assert body["connected"] is True
    assert body["messages"]["accepted"] == pipeline.tally.raw_events
    assert body["messages"]["rejected"] >= 2  # the poison spliced into the feed
    assert body["last_message_at"] is not None


def test_the_monitor_and_venue_status_agree_with_the_bus(pipeline: Pipeline) -> None:
    monitor = pipeline.status("monitor")["pipeline"]
    assert monitor["demands"] == len(pipeline.tally.demands)
    assert monitor["results"] == len(pipeline.tally.results)
    assert monitor["dead_letters_total"] == sum(pipeline.tally.dead_letters.values())
    venue = pipeline.status("paper-venue")
    statuses = Counter(pipeline.tally.result_status.values())
    # Every fill is the venue's; a command past its deadline never reaches the venue.
    assert venue["filled"] == statuses["filled"]
    assert venue["not_filled"] == statuses["not_filled"]
    assert venue["duplicate_submissions"] == 0


def _exported_sample_names(text: str) -> set[str]:
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        # Families without samples yet (a labelled counter nobody incremented) still count:
        # Prometheus gets their samples as soon as there is something to count.
        names |= sample_names(Exported(family.name, family.type, frozenset()))
        names |= {sample.name for sample in family.samples}
    return names


def test_every_app_metric_the_alerts_and_dashboards_read_is_scraped_from_a_service(
    pipeline: Pipeline,
) -> None:
    scraped = set().union(*(_exported_sample_names(pipeline.metrics(n)) for n in SERVICES))
    used = {name for rule in alerting_rules() for name in metric_names(rule["expr"])}
    for dashboard in dashboards().values():
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                used |= metric_names(target["expr"])
    app_used = {name for name in used if name.startswith("unrip_")}
    assert app_used, "the rules read no app metric: the check would be vacuous"
    missing = app_used - scraped - PLATFORM_METRICS
    assert not missing, f"no running service exports {sorted(missing)}"
    assert {
        "unrip_reactor_strategy_stale",
        "unrip_reactor_daily_loss_limit_usd",
        "unrip_executor_oldest_in_flight_seconds",
        "unrip_executor_in_flight_max_age_seconds",
    } <= scraped
