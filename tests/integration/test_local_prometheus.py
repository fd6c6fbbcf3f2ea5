"""`invoke dev --prometheus`: the real Prometheus (Debian's package) scrapes the dev services
with the cluster's pipeline alert rules, and an alert goes pending when its condition holds."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml
from unrip_dev.prometheus import PIPELINE_RULES, alerts, start_local_prometheus, targets_up
from unrip_dev.supervisor import Supervisor, http_json

from tests.integration.helpers import eventually
from tests.platform.monitoring.conftest import ensure_promtool


@pytest.fixture(autouse=True)
def prometheus_installed() -> None:
    ensure_promtool()  # the same Debian package gives prometheus


async def test_local_prometheus_scrapes_the_services_and_evaluates_the_pipeline_rules(
    services: Supervisor, tmp_path: Path
) -> None:
    services.spawn_paper_venue(tmp_path / "venue.sqlite")
    assert services.wait_ready(["paper-venue"], 60) == []
    prometheus = start_local_prometheus(services, {"paper-venue": "paper-venue"})

    async def up() -> dict[str, bool]:
        return targets_up(prometheus)

    await eventually(up, lambda t: t.get("paper-venue") is True, timeout_s=30, what="scraped")
    _, rules = http_json(f"{prometheus.url}/api/v1/rules")
    loaded = {r["name"] for g in rules["data"]["groups"] for r in g["rules"]}
    shipped = {
        r["alert"] for g in yaml.safe_load(PIPELINE_RULES.read_text())["groups"] for r in g["rules"]
    }
    assert loaded == shipped

    # The venue goes away: AppTargetDown's condition holds, so the alert goes pending (it
    # would fire after its `for: 2m`).
    services.stop(["paper-venue"], timeout_s=15)

    async def seen() -> list[dict[str, str]]:
        return await asyncio.to_thread(alerts, prometheus)

    found = await eventually(
        seen,
        lambda a: {"alert": "AppTargetDown", "state": "pending", "pod": "paper-venue"} in a,
        timeout_s=30,
        what="AppTargetDown pending",
    )
    assert all(a["pod"] == "paper-venue" for a in found)
