"""Risk state bookkeeping and the live-reloaded strategy file."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from unrip.reactor.risk import RiskState
from unrip.reactor.strategy import DEFAULT_STRATEGY_PATH, StrategyFile, parse_strategy

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


def test_commands_and_results_apply_once_in_any_order() -> None:
    risk = RiskState(day=NOW.date())
    risk.record_result("c1", Decimal("-3"), NOW)  # result read before its command (rebuild)
    risk.record_command("k1", "c1", Decimal(100))
    risk.record_command("k1", "c1", Decimal(100))
    risk.record_command("k2", "c2", Decimal(50))
    risk.record_result("c2", Decimal("1.5"), NOW)
    risk.record_result("c2", Decimal("1.5"), NOW)
    assert risk.open_exposure_usd == 0
    assert risk.daily_pnl_usd == Decimal("-1.5")
    assert "k1" in risk.decided and "k2" in risk.decided and len(risk.decided) == 2


def test_yesterdays_results_do_not_count_against_today() -> None:
    risk = RiskState(day=NOW.date())
    risk.record_command("k1", "c1", Decimal(10))
    risk.record_result("c1", Decimal(-100), NOW - timedelta(days=1))
    assert risk.daily_pnl_usd == 0
    assert risk.open_exposure_usd == 0


def test_the_shipped_strategy_is_valid() -> None:
    strategy = parse_strategy(DEFAULT_STRATEGY_PATH.read_text())
    assert strategy.limits.kill_switch is False
    assert "nep141:wrap.near" in strategy.assets


def test_the_clusters_strategy_configmap_is_the_shipped_strategy_byte_for_byte() -> None:
    # kustomize cannot read files outside its root, so the manifest keeps a copy; this keeps
    # the two from drifting (a local run and the cluster would otherwise trade differently).
    configmap_file = Path(__file__).parents[3] / "manifests/base/reactor/strategy.yaml"
    assert configmap_file.read_bytes() == DEFAULT_STRATEGY_PATH.read_bytes(), (
        "copy apps/unrip/reactor/default_strategy.yaml to manifests/base/reactor/strategy.yaml"
    )


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace("spread_bps: 30", "spread_bps: -1"), "spread_bps"),
        (
            lambda t: t.replace('max_notional_usd: "25000"', 'max_notional_usd: "0"'),
            "max_notional_usd",
        ),
        (lambda t: t + "\nunknown_knob: 1\n", "unknown_knob"),
        (lambda t: t.replace("nep141:wrap.near:", "wrap.near:"), "venue-qualified"),
        (lambda t: "limits: [", "not valid YAML"),
    ],
)
def test_invalid_strategies_are_rejected_with_the_field_named(edit, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        parse_strategy(edit(DEFAULT_STRATEGY_PATH.read_text()), "strategy.yaml")


def killed(live: StrategyFile) -> bool:
    return live.current.limits.kill_switch


def test_strategy_file_reloads_and_a_broken_edit_fails_closed(tmp_path: Path) -> None:
    path = tmp_path / "strategy.yaml"
    text = DEFAULT_STRATEGY_PATH.read_text()
    path.write_text(text)
    live = StrategyFile(path, poll_interval_s=1.0)
    clock = 1000.0
    assert live.refresh(clock) is False  # unchanged

    path.write_text(text.replace("kill_switch: false", "kill_switch: true"))
    os.utime(path, ns=(1, 1))  # a distinct mtime even on coarse filesystems
    assert live.refresh(clock + 0.5) is False  # not polled again within the interval
    assert live.refresh(clock + 1.0) is True
    assert killed(live)

    path.write_text(text)  # kill switch off again
    os.utime(path, ns=(2, 2))
    assert live.refresh(clock + 2.0) is True
    assert not killed(live)

    path.write_text("limits: [")  # a broken edit: stop trading rather than keep going
    os.utime(path, ns=(3, 3))
    assert live.refresh(clock + 3.0) is True
    assert killed(live)
    assert live.current.spread_bps == 30  # the last good strategy stays loaded
    assert live.errors == 1
    path.unlink()  # an unreadable file stays closed
    assert live.refresh(clock + 4.0) is False
    assert killed(live)

    path.write_text(text)  # a valid edit reopens
    assert live.refresh(clock + 5.0) is True
    assert not killed(live)
