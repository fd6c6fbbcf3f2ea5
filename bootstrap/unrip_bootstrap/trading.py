"""The trading layer's rows of `invoke status`, read from each app pod's ``/status``.

Beside the infrastructure rows, an operator wants to know whether the system trades: is the
kill switch on and why, how much is exposed, today's PnL against the loss limit, what the
executors hold in flight, whether dead letters or consumer lag are growing, and whether the
venue source is connected. Every running app pod is asked (port-forward, see
``KubectlClient.pod_json``); a pod that cannot answer becomes its own row, never a crash.
The rows inform: they do not change `invoke status`'s exit code, which is about the layers
the bootstrap converges.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from unrip_platform import names

from unrip_bootstrap.clients.kube import Kube, KubeError

HTTP_PORT: Final = 8080  # every app's container port "http" (manifests/base/*/service.yaml)
SERVICES: Final = ("ingest", "reactor", "executor", "monitor")
OK, ATTENTION, UNKNOWN = "ok", "ATTENTION", "unknown"


@dataclass(frozen=True)
class PodStatus:
    service: str
    pod: str
    body: dict[str, Any]


def read_statuses(kube: Kube, namespace: str) -> tuple[list[PodStatus], list[str]]:
    """The /status of every running app pod, and what could not be read (one line each)."""
    found: list[PodStatus] = []
    errors: list[str] = []
    for pod in kube.items("pod", namespace):
        meta = pod.get("metadata", {})
        service = (meta.get("labels") or {}).get("app.kubernetes.io/name")
        if service not in SERVICES or pod.get("status", {}).get("phase") != "Running":
            continue
        name = meta.get("name", "?")
        try:
            found.append(
                PodStatus(service, name, kube.pod_json(namespace, name, HTTP_PORT, "status"))
            )
        except KubeError as exc:
            errors.append(f"{name}: {exc}")
    return found, errors


def trading_rows(kube: Kube, namespace: str = names.NAMESPACE_APPS) -> list[list[str]]:
    """Rows of [layer, state, detail] for the status table."""
    try:
        statuses, errors = read_statuses(kube, namespace)
    except KubeError as exc:
        return [["trading", UNKNOWN, f"cannot list the app pods: {exc}"]]
    if not statuses and not errors:
        return [["trading", UNKNOWN, f"no running app pod in namespace {namespace}"]]
    by_service: dict[str, list[PodStatus]] = {}
    for status in statuses:
        by_service.setdefault(status.service, []).append(status)
    rows = [
        _kill_switch(by_service.get("reactor", [])),
        _risk(by_service.get("reactor", [])),
        *_executors(by_service.get("executor", [])),
        _dead_letters(by_service.get("monitor", [])),
        _lag(statuses),
        _source(by_service.get("ingest", [])),
    ]
    rows.extend(["trading: unreadable pod", UNKNOWN, error] for error in errors)
    return rows


def _missing(layer: str, service: str) -> list[str]:
    return [layer, UNKNOWN, f"no {service} pod answered /status"]


def _kill_switch(reactors: list[PodStatus]) -> list[str]:
    layer = "trading: kill switch"
    if not reactors:
        return _missing(layer, "reactor")
    on = [r for r in reactors if (r.body.get("kill_switch") or {}).get("on")]
    if not on:
        return [layer, OK, "off: trading"]
    reasons = {str(r.body["kill_switch"].get("reason")) for r in on}
    return [layer, ATTENTION, "ON: " + "; ".join(sorted(reasons))]


def _risk(reactors: list[PodStatus]) -> list[str]:
    layer = "trading: exposure and PnL"
    if not reactors:
        return _missing(layer, "reactor")
    risk = reactors[0].body.get("risk") or {}
    tripped = bool(risk.get("daily_loss_limit_tripped"))
    detail = (
        f"open exposure {_usd(risk.get('open_exposure_usd'))} in "
        f"{risk.get('open_commands', '?')} commands; PnL today {_usd(risk.get('daily_pnl_usd'))} "
        f"(loss limit {_usd(risk.get('daily_loss_limit_usd'))}" + (", TRIPPED)" if tripped else ")")
    )
    return [layer, ATTENTION if tripped else OK, detail]


def _executors(executors: list[PodStatus]) -> list[list[str]]:
    if not executors:
        return [_missing("trading: executors", "executor")]
    rows = []
    for executor in sorted(executors, key=lambda e: e.pod):
        flight = executor.body.get("in_flight") or {}
        ledger = executor.body.get("ledger") or {}
        detail = (
            f"partitions {ledger.get('partitions', [])}, {flight.get('count', '?')} in flight "
            f"(oldest {flight.get('oldest_age_s', '?')} s of {flight.get('max_age_s', '?')} s), "
            f"ledger {ledger.get('entries', '?')} entries"
        )
        state = ATTENTION if flight.get("overdue") else OK
        rows.append([f"trading: {executor.pod}", state, detail])
    return rows


def _dead_letters(monitors: list[PodStatus]) -> list[str]:
    layer = "trading: DLQ"
    if not monitors:
        return _missing(layer, "monitor")
    pipeline = monitors[0].body.get("pipeline") or {}
    total = int(pipeline.get("dead_letters_total") or 0)
    by_topic = ", ".join(
        f"{t} {n}" for t, n in sorted((pipeline.get("dead_letters") or {}).items())
    )
    detail = f"{total} dead letters since the monitor started" + (f" ({by_topic})" if total else "")
    return [layer, ATTENTION if total else OK, detail]


def _lag(statuses: Iterable[PodStatus]) -> list[str]:
    lags: dict[str, int] = {}
    for status in statuses:
        consumer = status.body.get("consumer") or {}
        group = consumer.get("group")
        if group:
            lags[group] = lags.get(group, 0) + sum((consumer.get("lag") or {}).values())
    if not lags:
        return ["trading: consumer lag", UNKNOWN, "no consumer reported its lag"]
    detail = ", ".join(f"{group} {lag}" for group, lag in sorted(lags.items()))
    return ["trading: consumer lag", OK, f"records behind, per group: {detail}"]


def _source(ingests: list[PodStatus]) -> list[str]:
    layer = "trading: venue source"
    if not ingests:
        return _missing(layer, "ingest")
    parts, down = [], False
    for ingest in ingests:
        body = ingest.body
        connected = bool(body.get("connected"))
        down = down or not connected
        parts.append(
            f"{body.get('venue')}/{body.get('stream')} ({body.get('source')}) "
            f"{'connected' if connected else 'DISCONNECTED'}, last message "
            f"{body.get('last_message_at') or 'never'}"
        )
    return [layer, ATTENTION if down else OK, "; ".join(parts)]


def _usd(value: object) -> str:
    try:
        return f"{Decimal(str(value)):,.2f} USD"
    except InvalidOperation:
        return "? USD"
