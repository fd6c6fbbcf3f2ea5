"""Liveness, readiness, status and metrics over HTTP (FastAPI), served beside the service's work."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest


class Health:
    """Readiness as a set of named conditions, so /readyz says what is not ready yet."""

    def __init__(self) -> None:
        self._pending: set[str] = {"starting"}
        self.stopping = False
        self.failed: str | None = None

    def wait_for(self, condition: str) -> None:
        self._pending.add(condition)

    def satisfied(self, condition: str) -> None:
        self._pending.discard(condition)

    def started(self) -> None:
        self.satisfied("starting")

    @property
    def ready(self) -> bool:
        return not self._pending and not self.stopping and self.failed is None

    def reasons(self) -> list[str]:
        reasons = sorted(self._pending)
        if self.stopping:
            reasons.append("stopping")
        if self.failed:
            reasons.append(f"failed: {self.failed}")
        return reasons


StatusReader = Callable[[], dict[str, Any]]


def build_app(
    service: str,
    health: Health,
    registry: CollectorRegistry = REGISTRY,
    status: StatusReader | None = None,
) -> FastAPI:
    app = FastAPI(title=f"unrip {service}", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        # Alive unless the service has given up; a stopping service is still alive.
        if health.failed is not None:
            return JSONResponse({"status": "failed", "reason": health.failed}, status_code=500)
        return JSONResponse({"status": "ok", "service": service})

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        if health.ready:
            return JSONResponse({"status": "ready"})
        return JSONResponse({"status": "not ready", "reasons": health.reasons()}, status_code=503)

    @app.get("/status")
    async def status_() -> JSONResponse:
        # What an operator asks first: what it owns, what is in flight, why it is not trading.
        body: dict[str, Any] = {"service": service, "ready": health.ready}
        body["not_ready"] = [] if health.ready else health.reasons()
        if status is not None:
            body.update(status())
        return JSONResponse(body)

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return app
