"""The executor's client for the paper venue (implements unrip.venues.base.Venue)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import httpx

from unrip.venues.base import VenueOrder, VenueOutcome, VenueUnavailableError
from unrip.venues.paper.api import (
    MAX_BATCH,
    LookupRequest,
    LookupResponse,
    OrderIn,
    SubmitRequest,
    SubmitResponse,
)


class PaperVenue:
    name = "paper"

    def __init__(
        self,
        base_url: str,
        timeout_s: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._client = httpx.AsyncClient(base_url=base_url, timeout=timeout_s, transport=transport)

    async def start(self) -> None:
        try:
            response = await self._client.get("/readyz")
        except httpx.HTTPError as exc:
            raise VenueUnavailableError(f"paper venue not reachable: {exc!r}") from None
        if response.status_code != 200:
            raise VenueUnavailableError(f"paper venue not ready: HTTP {response.status_code}")

    async def close(self) -> None:
        await self._client.aclose()

    async def submit(self, orders: Sequence[VenueOrder]) -> list[VenueOutcome]:
        outcomes: list[VenueOutcome] = []
        for start in range(0, len(orders), MAX_BATCH):
            chunk = orders[start : start + MAX_BATCH]
            request = SubmitRequest(orders=[OrderIn.of(o) for o in chunk])
            body = await self._post("/v1/orders/batch", request.model_dump_json())
            response = SubmitResponse.model_validate_json(body)
            if [o.client_order_id for o in response.outcomes] != [o.client_order_id for o in chunk]:
                raise VenueUnavailableError("paper venue answered for different orders")
            outcomes.extend(o.to_outcome() for o in response.outcomes)
        return outcomes

    async def lookup(self, orders: Sequence[VenueOrder]) -> Mapping[str, VenueOutcome]:
        found: dict[str, VenueOutcome] = {}
        ids = list(dict.fromkeys(o.client_order_id for o in orders))
        for start in range(0, len(ids), MAX_BATCH):
            request = LookupRequest(client_order_ids=ids[start : start + MAX_BATCH])
            body = await self._post("/v1/orders/lookup", request.model_dump_json())
            response = LookupResponse.model_validate_json(body)
            found.update({cid: o.to_outcome() for cid, o in response.outcomes.items()})
        return found

    async def _post(self, path: str, body: str) -> bytes:
        try:
            response = await self._client.post(
                path, content=body, headers={"content-type": "application/json"}
            )
        except httpx.HTTPError as exc:
            # Timeouts included: the venue may or may not have acted, so the caller reconciles.
            raise VenueUnavailableError(f"paper venue {path}: {exc!r}") from None
        if response.status_code >= 500:
            raise VenueUnavailableError(f"paper venue {path}: HTTP {response.status_code}")
        if response.status_code != 200:
            raise ValueError(
                f"paper venue refused {path}: HTTP {response.status_code} {response.text[:300]}"
            )
        return response.content
