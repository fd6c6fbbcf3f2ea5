"""Alert rules: promtool accepts every file, and a promtool unit test fires and spares each alert.

The unit tests (rules/*.test.yaml) run against copies of the rule files without annotations, so
they state only what an alert matches and its labels; the annotations (runbook links, summaries)
are checked here in Python.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from unrip_platform.cluster.monitoring import RULES_DIR, alerting_rules, rule_files

pytestmark = pytest.mark.platform

REPO = Path(__file__).resolve().parents[3]
RUNBOOKS = REPO / "docs" / "runbooks.md"
UNIT_TESTS = Path(__file__).with_name("rules")
RUNBOOK_BASE = "http://127.0.0.1:30300/unrip/unrip/src/branch/main/docs/runbooks.md#"
SEVERITIES = {"critical", "warning"}


def run_promtool(promtool: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *map(str, args)], capture_output=True, text=True, check=False, timeout=120
    )


def without_annotations(text: str) -> str:
    document = yaml.safe_load(text)
    for group in document["groups"]:
        for rule in group["rules"]:
            rule.pop("annotations", None)
    return yaml.safe_dump(document, sort_keys=False)


def unit_test_dir(tmp_path: Path, rules: dict[str, str] | None = None) -> Path:
    for name, text in (rules or rule_files()).items():
        (tmp_path / name).write_text(without_annotations(text))
    for test in UNIT_TESTS.glob("*.test.yaml"):
        (tmp_path / test.name).write_text(test.read_text())
    return tmp_path


def unit_tests() -> list[Path]:
    return sorted(UNIT_TESTS.glob("*.test.yaml"))


def anchors(markdown: str) -> set[str]:
    """Forgejo/GitHub heading anchors: lower case, punctuation dropped, spaces to dashes."""
    found = set()
    for line in markdown.splitlines():
        if match := re.match(r"#{1,6}\s+(.*)", line):
            slug = re.sub(r"[^\w\- ]", "", match.group(1).strip().lower()).replace(" ", "-")
            found.add(slug)
    return found


def test_there_are_rule_files_and_unit_tests() -> None:
    assert set(rule_files()) == {"pipeline.yaml", "platform.yaml"}
    assert [p.name for p in unit_tests()] == ["pipeline.test.yaml", "platform.test.yaml"]


@pytest.mark.parametrize("name", sorted(rule_files()))
def test_promtool_check_rules(promtool: str, name: str) -> None:
    result = run_promtool(promtool, "check", "rules", RULES_DIR / name)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("test_file", unit_tests(), ids=lambda p: p.name)
def test_promtool_unit_tests(promtool: str, tmp_path: Path, test_file: Path) -> None:
    directory = unit_test_dir(tmp_path)
    result = run_promtool(promtool, "test", "rules", directory / test_file.name)
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_changed_rule_fails_its_unit_test(promtool: str, tmp_path: Path) -> None:
    """The unit tests can fail: RelayDisconnected waiting 5 min instead of 30 s is caught."""
    rules = rule_files()
    rules["pipeline.yaml"] = rules["pipeline.yaml"].replace("for: 30s", "for: 5m", 1)
    directory = unit_test_dir(tmp_path, rules)
    result = run_promtool(promtool, "test", "rules", directory / "pipeline.test.yaml")
    assert result.returncode != 0
    assert "RelayDisconnected" in result.stdout + result.stderr


def _alert_tests() -> dict[str, dict[str, int]]:
    """Alert name -> how many of its checks expect it firing and how many expect silence."""
    counts: dict[str, dict[str, int]] = {}
    for path in unit_tests():
        for case in yaml.safe_load(path.read_text())["tests"]:
            for check in case.get("alert_rule_test", []):
                entry = counts.setdefault(check["alertname"], {"fires": 0, "silent": 0})
                entry["fires" if check.get("exp_alerts") else "silent"] += 1
    return counts


def test_every_alert_has_a_firing_and_a_silent_unit_test() -> None:
    counts = _alert_tests()
    alerts = {rule["alert"] for rule in alerting_rules()}
    assert len(alerts) >= 15
    assert set(counts) == alerts, "unit tests name alerts that do not exist, or miss some"
    for alert in sorted(alerts):
        assert counts[alert]["fires"] >= 1, f"no unit test fires {alert}"
        assert counts[alert]["silent"] >= 1, f"no unit test shows {alert} silent"


@pytest.mark.parametrize("rule", alerting_rules(), ids=lambda r: r["alert"])
def test_every_alert_is_documented_and_classified(rule: dict[str, Any]) -> None:
    assert rule["labels"]["severity"] in SEVERITIES
    annotations = rule["annotations"]
    assert annotations["summary"].strip()
    url = annotations["runbook_url"]
    assert url.startswith(RUNBOOK_BASE), url
    anchor = url.removeprefix(RUNBOOK_BASE)
    assert anchor in anchors(RUNBOOKS.read_text()), f"docs/runbooks.md has no section #{anchor}"


def test_anchor_slugs_follow_forgejo() -> None:
    assert anchors("## RelayDisconnected\n### Kill switch: on (forced)") == {
        "relaydisconnected",
        "kill-switch-on-forced",
    }
