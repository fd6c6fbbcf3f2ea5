"""The lifecycle every service shares: signals, HTTP beside the work, bounded shutdown.

SIGTERM and SIGINT (Ctrl-C) both mean "stop gracefully": readiness goes false at once (so a
rollout stops routing to us), the service's ``run`` sees ``stop`` set, finishes in-flight work
and commits. If that overruns ``shutdown_grace_s`` the process exits non-zero rather than be
killed mid-write by the orchestrator: whatever was not committed is redelivered, by design.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Iterator
from typing import Any, ClassVar

import uvicorn
from fastapi import FastAPI

from unrip.contracts import utc_now
from unrip.runtime.health import Health, build_app
from unrip.runtime.logs import configure_logging
from unrip.runtime.settings import ServiceSettings

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_GRACE_EXCEEDED = 3


async def sleep_unless_stopped(stop: asyncio.Event, seconds: float) -> None:
    """Sleep that a stop request cuts short, so pauses never delay a graceful shutdown."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


class Service(abc.ABC):
    """One unrip service: long-running work plus health and metrics."""

    name: ClassVar[str]

    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self.health = Health()

    @abc.abstractmethod
    async def run(self, stop: asyncio.Event) -> None:
        """Do the work until ``stop`` is set; return only when everything is committed."""

    def add_routes(self, app: FastAPI) -> None:
        """Extra HTTP routes beside /healthz, /readyz, /status and /metrics."""
        return None

    def status(self) -> dict[str, Any]:
        """The service's own part of ``/status`` (JSON-ready; docs/observability.md lists it)."""
        return {}

    def status_document(self) -> dict[str, Any]:
        return {
            "instance": self.settings.instance_id,
            "now": utc_now().isoformat(),
            **self.status(),
        }


class _QuietServer(uvicorn.Server):
    # The service owns signal handling; uvicorn's own handlers would swallow SIGTERM.
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(service: Service) -> int:
    """Run ``service`` with its HTTP endpoints until a signal or failure; return an exit code."""
    settings = service.settings
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def request_stop(signame: str) -> None:
        if not stop.is_set():
            log.info("stop requested", extra={"signal": signame})
        service.health.stopping = True
        stop.set()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, request_stop, sig.name)

    app = build_app(service.name, service.health, status=service.status_document)
    service.add_routes(app)
    # Everything made so far (modules, schemas, the service's configuration) lives as long as
    # the process: move it out of the collector's sight, so that collections during the work
    # scan only what the work allocates (docs/benchmarks.md: the decision's p99).
    gc.freeze()
    server = _QuietServer(
        uvicorn.Config(
            app,
            host=settings.http_host,
            port=settings.http_port,
            log_config=None,
            access_log=False,
            lifespan="off",
        )
    )
    http_task = asyncio.create_task(server.serve(), name="http")
    work = asyncio.create_task(service.run(stop), name=f"{service.name}.run")
    stop_requested = asyncio.create_task(stop.wait(), name="stop")
    code = EXIT_OK
    try:
        await asyncio.wait({work, http_task, stop_requested}, return_when=asyncio.FIRST_COMPLETED)
        if http_task.done() and not stop.is_set():
            # Probes are part of the contract; a service that cannot serve them must not run.
            log.error("http server stopped; stopping the service")
            service.health.failed = "http server stopped"
            stop.set()
            code = EXIT_FAILED
        if not work.done():
            await stop.wait()
            try:
                await asyncio.wait_for(asyncio.shield(work), timeout=settings.shutdown_grace_s)
            except TimeoutError:
                log.error(
                    "shutdown exceeded its grace period; exiting without finishing",
                    extra={"grace_s": settings.shutdown_grace_s},
                )
                work.cancel()
                with contextlib.suppress(BaseException):
                    await work
                code = EXIT_GRACE_EXCEEDED
        if work.done() and not work.cancelled() and work.exception() is not None:
            exc = work.exception()
            log.error("service failed", exc_info=exc)
            service.health.failed = type(exc).__name__
            code = EXIT_FAILED
        elif code == EXIT_OK and not stop.is_set():
            log.error("service work ended without a stop request")
            code = EXIT_FAILED
    finally:
        stop_requested.cancel()
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await http_task
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        # Shutdown is done; a repeated SIGTERM (an impatient supervisor) must not turn a clean
        # exit into death by signal while the interpreter winds down.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    log.info("stopped", extra={"exit_code": code})
    return code


def run_service(service: Service) -> int:
    configure_logging(service.name, service.settings.instance_id, service.settings.log_level)
    return asyncio.run(serve(service))
