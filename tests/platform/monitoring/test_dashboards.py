"""Dashboards are valid Grafana JSON that read only from the provisioned Prometheus."""

from __future__ import annotations

import json

import pytest
from unrip_platform.cluster.monitoring import dashboard_files, dashboards

pytestmark = pytest.mark.platform

DATASOURCE = {"type": "prometheus", "uid": "prometheus"}
PANEL_TYPES = {"timeseries", "stat", "gauge", "table"}


def test_the_two_dashboards_exist_with_unique_uids() -> None:
    found = dashboards()
    assert set(found) == {"pipeline.json", "platform.json"}
    uids = [d["uid"] for d in found.values()]
    assert len(set(uids)) == len(uids)


@pytest.mark.parametrize("name", sorted(dashboard_files()))
def test_dashboard_is_valid(name: str) -> None:
    dashboard = json.loads(dashboard_files()[name])
    assert dashboard["title"] and dashboard["uid"] and dashboard["panels"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(set(ids)) == len(ids), "panel ids must be unique"
    for panel in dashboard["panels"]:
        assert panel["type"] in PANEL_TYPES, panel["title"]
        assert panel["datasource"] == DATASOURCE, panel["title"]
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        assert panel["targets"], f"{panel['title']} has no query"
        ref_ids = [target["refId"] for target in panel["targets"]]
        assert len(set(ref_ids)) == len(ref_ids), panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip() and target["datasource"] == DATASOURCE


def test_the_pipeline_dashboard_covers_the_issue() -> None:
    titles = {panel["title"] for panel in dashboards()["pipeline.json"]["panels"]}
    assert {
        "Rates per stage",
        "End-to-end latency",
        "Fill rate",
        "PnL",
        "Open exposure",
        "Skips by reason",
        "Dead letters by reason",
        "Consumer lag",
    } <= titles
    platform = {panel["title"] for panel in dashboards()["platform.json"]["panels"]}
    assert {
        "Pods by phase",
        "Restarts (1h)",
        "CPU against limits",
        "Memory against limits",
        "Data volume",
    } <= platform
