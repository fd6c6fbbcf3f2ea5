"""The paper venue service: the order book behind a small exchange-like HTTP API."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI
from prometheus_client import Counter
from pydantic import Field

from unrip.contracts.envelope import UtcDatetime, utc_now
from unrip.runtime.service import Service
from unrip.runtime.settings import ServiceSettings
from unrip.venues.paper.api import (
    LookupRequest,
    LookupResponse,
    OutcomeOut,
    SubmitRequest,
    SubmitResponse,
)
from unrip.venues.paper.book import PaperBook
from unrip.venues.paper.market import PricePath

ORDERS = Counter("unrip_paper_orders_total", "Orders executed by the paper venue", ["status"])
DUPLICATE_SUBMISSIONS = Counter(
    "unrip_paper_duplicate_submissions_total", "Submissions of an already-executed client order id"
)


class PaperVenueSettings(ServiceSettings):
    paper_db_path: Path = Path(".runs/paper-venue.sqlite")
    paper_fill_probability: float = Field(default=0.85, ge=0, le=1)
    paper_latency_ms: float = Field(default=0.0, ge=0, description="simulated venue latency")
    # NORMAL (WAL): a fill is durable once answered if the venue process dies; only the
    # machine losing power can take back the last ones. FULL adds an fsync to every answer,
    # which on a busy disk made the venue call the executor's slowest step
    # (docs/benchmarks.md). A paper venue lives and dies with its machine either way.
    paper_synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
    # A recorded price path (token-list feed) driving fills: off-market quotes in the taker's
    # favour fill more often. Unset: a fixed fill probability.
    paper_price_path: Path | None = None
    # When the path's t=0 was on the wall clock (default: the venue's start), and how far
    # ahead of it takers see.
    paper_price_path_started_at: UtcDatetime | None = None
    paper_taker_lead_s: float = Field(default=3.0, ge=0)


class PaperVenueService(Service):
    name = "paper-venue"

    def __init__(self, settings: PaperVenueSettings) -> None:
        super().__init__(settings)
        self.settings: PaperVenueSettings = settings
        settings.paper_db_path.parent.mkdir(parents=True, exist_ok=True)
        self.book = PaperBook(
            settings.paper_db_path,
            settings.paper_fill_probability,
            synchronous=settings.paper_synchronous,
        )
        market = None
        if settings.paper_price_path is not None:
            started: datetime = settings.paper_price_path_started_at or utc_now()
            market = PricePath(
                settings.paper_price_path, started_at=started, lead_s=settings.paper_taker_lead_s
            )
        self.book = PaperBook(settings.paper_db_path, settings.paper_fill_probability, market)

    async def run(self, stop: asyncio.Event) -> None:
        self.health.started()
        try:
            await stop.wait()
        finally:
            self.book.close()

    def status(self) -> dict[str, Any]:
        return {"book": str(self.settings.paper_db_path), **dataclasses.asdict(self.book.stats())}

    def add_routes(self, app: FastAPI) -> None:
        latency_s = self.settings.paper_latency_ms / 1000

        @app.post("/v1/orders/batch")
        async def submit(request: SubmitRequest) -> SubmitResponse:
            if latency_s:
                await asyncio.sleep(latency_s)  # the simulated venue's own response time
            outcomes = await asyncio.to_thread(
                self.book.submit, [o.to_order() for o in request.orders]
            )
            for outcome in outcomes:
                if outcome.duplicate:
                    DUPLICATE_SUBMISSIONS.inc()
                else:
                    ORDERS.labels(outcome.status.value).inc()
            return SubmitResponse(outcomes=[OutcomeOut.of(o) for o in outcomes])

        @app.post("/v1/orders/lookup")
        async def lookup(request: LookupRequest) -> LookupResponse:
            found = await asyncio.to_thread(self.book.lookup, request.client_order_ids)
            return LookupResponse(outcomes={cid: OutcomeOut.of(o) for cid, o in found.items()})

        @app.get("/v1/stats")
        async def stats() -> dict[str, Any]:
            return dataclasses.asdict(await asyncio.to_thread(self.book.stats))

        @app.get("/v1/submissions")
        async def submissions() -> dict[str, int]:
            return await asyncio.to_thread(self.book.submissions_per_order)
