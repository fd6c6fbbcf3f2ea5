"""`invoke dev --prometheus`: a local Prometheus scraping the dev services with the cluster's
pipeline alert rules, so an alert can be watched going pending and firing on a laptop.

Prometheus is Debian's `prometheus` package (the one `ci/install-promtool.sh` installs for the
rule tests). Series get the labels the cluster's scrape config gives app pods (namespace, pod,
app), so the rules run unchanged. Only the pipeline rules are loaded: the platform rules read
kube-state-metrics, node-exporter and Redpanda, which a local run does not have (their
absence would fire RedpandaUnavailable at once).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from unrip_platform.cluster.monitoring import RULES_DIR

from unrip_dev.broker import free_port
from unrip_dev.supervisor import Child, Supervisor, http_json, http_text

PIPELINE_RULES: Final = RULES_DIR / "pipeline.yaml"
SCRAPE_INTERVAL_S: Final = 2


class PrometheusMissingError(RuntimeError):
    """No `prometheus` on PATH; the message says how to get it."""


def config(targets: Mapping[str, tuple[str, int]], rules: Path = PIPELINE_RULES) -> dict[str, Any]:
    """Scrape ``targets`` (instance name -> (service, port)) labelled as the cluster does."""
    return {
        "global": {
            "scrape_interval": f"{SCRAPE_INTERVAL_S}s",
            "evaluation_interval": f"{SCRAPE_INTERVAL_S}s",
        },
        "rule_files": [str(rules.resolve())],
        "scrape_configs": [
            {
                "job_name": "apps",
                "static_configs": [
                    {
                        "targets": [f"127.0.0.1:{port}"],
                        "labels": {"namespace": "dev", "pod": name, "app": service},
                    }
                    for name, (service, port) in sorted(targets.items())
                ],
            }
        ],
    }


def prometheus_child(
    run_dir: Path, targets: Mapping[str, tuple[str, int]], port: int, env: Mapping[str, str]
) -> Child:
    binary = shutil.which("prometheus")
    if binary is None:
        raise PrometheusMissingError(
            "--prometheus needs Prometheus on PATH: run `sh ci/install-promtool.sh` "
            "(Debian's prometheus package, which also gives promtool)"
        )
    config_path = run_dir / "prometheus.yml"
    config_path.write_text(json.dumps(config(targets), indent=2))  # JSON is YAML
    argv = [
        binary,
        f"--config.file={config_path}",
        f"--storage.tsdb.path={run_dir / 'prometheus-data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--storage.tsdb.retention.time=1d",
    ]
    return Child("prometheus", argv, dict(env), port, run_dir / "prometheus.log")


def ready(child: Child) -> bool:
    return http_text(f"{child.url}/-/ready") is not None  # plain text, 503 while starting


def alerts(child: Child) -> list[dict[str, str]]:
    """Alerts pending or firing now (name, state, pod), as Prometheus' API lists them."""
    status, body = http_json(f"{child.url}/api/v1/alerts", timeout=5)
    if status != 200 or not isinstance(body, dict):
        return []
    return [
        {
            "alert": alert["labels"].get("alertname", "?"),
            "state": alert.get("state", "?"),
            "pod": alert["labels"].get("pod", ""),
        }
        for alert in body.get("data", {}).get("alerts", [])
    ]


def targets_up(child: Child) -> dict[str, bool]:
    """Each scraped pod and whether its last scrape succeeded."""
    status, body = http_json(f"{child.url}/api/v1/targets", timeout=5)
    if status != 200 or not isinstance(body, dict):
        return {}
    return {
        target["labels"].get("pod", "?"): target.get("health") == "up"
        for target in body.get("data", {}).get("activeTargets", [])
    }


def start_local_prometheus(
    supervisor: Supervisor, services: Mapping[str, str], timeout_s: float = 30
) -> Child:
    """Start Prometheus as one more child of ``supervisor`` (stopped with the others), scraping
    the children named in ``services`` (child name -> service), and wait until it is ready."""
    targets = {
        name: (service, supervisor.children[name].port) for name, service in services.items()
    }
    child = prometheus_child(supervisor.run_dir, targets, free_port(), supervisor.base_env)
    child.start()
    supervisor.children[child.name] = child
    deadline = time.monotonic() + timeout_s
    while not ready(child):
        if not child.running or time.monotonic() > deadline:
            raise PrometheusMissingError(
                f"prometheus did not become ready: {supervisor.log_tail(child.name)}"
            )
        time.sleep(0.2)  # polling a starting process's readiness endpoint
    return child
