"""Every metric an alert or a dashboard reads exists: exported by a service (read from its
prometheus_client registry), listed as a platform metric (known_metrics.py cites the sources),
or named in EXPECTED_FROM_APPS until the apps export it."""

from __future__ import annotations

import pytest
from unrip_platform.cluster.monitoring import alerting_rules, dashboards

from tests.platform.monitoring import known_metrics
from tests.platform.monitoring.promql import metric_names

pytestmark = pytest.mark.platform


@pytest.fixture(scope="module")
def app_names() -> set[str]:
    return known_metrics.app_metric_names()


def dashboard_exprs() -> list[tuple[str, str, str]]:
    found = []
    for file, dashboard in dashboards().items():
        for panel in dashboard["panels"]:
            for target in panel.get("targets", []):
                found.append((file, panel["title"], target["expr"]))
    return found


def rule_names() -> set[str]:
    return {name for rule in alerting_rules() for name in metric_names(rule["expr"])}


def dashboard_names() -> set[str]:
    return {name for *_, expr in dashboard_exprs() for name in metric_names(expr)}


def test_the_extractor_finds_metric_names_only() -> None:
    expr = (
        'sum by (namespace, pod) (increase(unrip_x_total{outcome="a b"}[10m])) or '
        'max by (pod) (up{job="apps"}) * 0 == 0 and on (pod) min_over_time(node_load1[5m:1m]) '
        "> bool 3 unless absent(foo:bar) offset 5m"
    )
    assert metric_names(expr) == {"unrip_x_total", "up", "node_load1", "foo:bar"}
    assert metric_names(
        "histogram_quantile(0.99, sum by (le) (rate(h_bucket[$__rate_interval])))"
    ) == {"h_bucket"}


def test_the_services_export_their_known_metrics(app_names: set[str]) -> None:
    """The registry read works (a broken import would make every later check vacuous)."""
    for name in (
        "unrip_ingest_messages_total",
        "unrip_reactor_kill_switch",
        "unrip_reactor_daily_pnl_usd",
        "unrip_reactor_open_exposure_usd",
        "unrip_reactor_skips_total",
        "unrip_reactor_results_past_window_total",
        "unrip_executor_in_flight",
        "unrip_dead_letters_total",
        "unrip_monitor_end_to_end_seconds_bucket",
        "unrip_monitor_fill_rate",
        "unrip_monitor_pnl_usd",
        "unrip_monitor_results_total",
        "unrip_paper_orders_total",
    ):
        assert name in app_names, name


def test_every_alert_metric_exists(app_names: set[str]) -> None:
    known = app_names | known_metrics.PLATFORM_METRICS | known_metrics.expected_sample_names()
    unknown = rule_names() - known
    assert not unknown, f"alerts read metrics nobody exports: {sorted(unknown)}"


def test_every_dashboard_metric_exists(app_names: set[str]) -> None:
    known = app_names | known_metrics.PLATFORM_METRICS | known_metrics.expected_sample_names()
    unknown = {
        (file, title, name)
        for file, title, expr in dashboard_exprs()
        for name in metric_names(expr) - known
    }
    assert not unknown, f"dashboard queries read unknown metrics: {sorted(unknown)}"


def test_expected_app_metrics_are_still_missing_and_still_used() -> None:
    """Fails once the apps export one: delete it from EXPECTED_FROM_APPS (its type and labels
    are checked below first); and an entry no rule or dashboard reads is stale."""
    exported = known_metrics.app_metrics()
    for name, spec in known_metrics.EXPECTED_FROM_APPS.items():
        family = exported.get(name)
        if family is not None:
            assert (family.type, family.labels) == (spec.type, spec.labels), (
                f"{name} is exported as {family.type}{sorted(family.labels)}, "
                f"the alerts expect {spec.type}{sorted(spec.labels)}"
            )
            pytest.fail(f"{name} is exported now: remove it from EXPECTED_FROM_APPS")
    used = rule_names() | dashboard_names()
    stale = known_metrics.expected_sample_names() - used
    assert not stale, f"EXPECTED_FROM_APPS names metrics nothing reads: {sorted(stale)}"


def test_platform_allow_list_entries_are_used() -> None:
    """Keeps the hand-written list honest: every entry is read by a rule or a dashboard."""
    used = rule_names() | dashboard_names()
    unused = known_metrics.PLATFORM_METRICS - used - known_metrics.PROMETHEUS_SYNTHETIC
    assert not unused, f"known_metrics lists platform metrics nothing reads: {sorted(unused)}"
