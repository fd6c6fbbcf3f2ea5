"""Observability as code: Prometheus, Alertmanager and Grafana, their rules and dashboards.

``rules/*.yaml`` are Prometheus rule files (one ConfigMap key each) and ``dashboards/*.json``
Grafana dashboards (provisioned from a ConfigMap); both are data, read here and tested offline
by tests/platform/monitoring (promtool, metric names, JSON).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Final

import yaml

HERE: Final = Path(__file__).parent
RULES_DIR: Final = HERE / "rules"
DASHBOARDS_DIR: Final = HERE / "dashboards"


def rule_files() -> dict[str, str]:
    """File name -> content of every rule file, sorted (the rules ConfigMap's data)."""
    return {path.name: path.read_text() for path in sorted(RULES_DIR.glob("*.yaml"))}


def alerting_rules() -> list[dict[str, Any]]:
    """Every alerting rule of every rule file, as parsed YAML."""
    return [
        rule
        for text in rule_files().values()
        for group in yaml.safe_load(text)["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]


def dashboard_files() -> dict[str, str]:
    """File name -> content of every dashboard, sorted (the dashboards ConfigMap's data)."""
    return {path.name: path.read_text() for path in sorted(DASHBOARDS_DIR.glob("*.json"))}


def dashboards() -> dict[str, dict[str, Any]]:
    return {name: json.loads(text) for name, text in dashboard_files().items()}
