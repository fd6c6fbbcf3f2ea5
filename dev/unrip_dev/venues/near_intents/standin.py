"""The NEAR Intents venue as its own process: the fake relay and the fake RPC node, one state.

Executors under test (and chaos) talk to it over real websockets and HTTP as they would to the
relay and a NEAR RPC node. It answers every quote_response, reports a deterministic share of
them executed on ``quote_status`` (and marks their nonces used on chain, so
``is_nonce_used`` agrees), and lets the rest expire. Its own JSON-RPC method ``unrip_stats``
on the RPC port reports what it saw, for the harness: quote_responses received, distinct
quotes answered, quotes answered more than once (``duplicates``), fills; and
``unrip_quote_arrivals`` (``{"prefix": ...}``) when each quote's first quote_response came off
the socket (epoch seconds), for the bench's quote latency.

    python -m unrip_dev.venues.near_intents.standin --jwt JWT --fill-share 0.3

prints one JSON line with ``relay_url`` and ``rpc_url``, then serves until SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import heapq
import json
import signal
import sys
import time
from collections import Counter
from datetime import datetime
from typing import Any

from unrip_dev.venues.near_intents.fake_relay import FakeRelay
from unrip_dev.venues.near_intents.fake_rpc import FakeNearRpc, VerifierState


class SharingRelay(FakeRelay):
    """A relay that settles a fixed share of the quotes it accepts, chosen by quote hash."""

    def __init__(self, *, jwt: str, chain: VerifierState, fill_share: float) -> None:
        super().__init__(jwt=jwt, chain=chain)
        self.keep_requests = False
        self.fill_share = fill_share
        self.answered: Counter[str] = Counter()  # quote_id -> quote_responses received
        self.fills = 0
        # Accepted, not (yet) executed quotes by intent deadline: what awaits settlement.
        self.open_deadlines: list[float] = []  # a heap: the soonest deadline first
        self.max_outstanding = 0

    async def _on_quote_response(
        self, client: Any, request_id: object, quote: dict[str, Any]
    ) -> None:
        self.answered[str(quote.get("quote_id"))] += 1
        known = set(self.accepted)
        await super()._on_quote_response(client, request_id, quote)
        for quote_hash in set(self.accepted) - known:
            draw = int.from_bytes(hashlib.sha256(quote_hash.encode()).digest()[:4], "big")
            if draw / 2**32 < self.fill_share:
                self.fills += 1
                await self.settle(
                    quote_hash, intent_hash=f"i-{quote_hash[:8]}", tx_hash=f"t-{quote_hash}"
                )
            else:
                heapq.heappush(self.open_deadlines, _intent_deadline(quote))
        self._count_outstanding()

    def _count_outstanding(self) -> None:
        now = time.time()
        while self.open_deadlines and self.open_deadlines[0] <= now:
            heapq.heappop(self.open_deadlines)
        self.max_outstanding = max(self.max_outstanding, len(self.open_deadlines))

    def stats(self) -> dict[str, int]:
        return {
            "quote_responses": sum(self.answered.values()),
            "quotes": len(self.answered),
            "duplicates": sum(1 for n in self.answered.values() if n > 1),
            "fills": self.fills,
            "max_outstanding": self.max_outstanding,
        }


def _intent_deadline(quote: dict[str, Any]) -> float:
    message = json.loads(quote["signed_data"]["payload"]["message"])
    return datetime.fromisoformat(message["deadline"].replace("Z", "+00:00")).timestamp()


class StatsRpc(FakeNearRpc):
    def __init__(self, state: VerifierState, relay: SharingRelay) -> None:
        super().__init__(state)
        self._relay = relay
        self.keep_calls = False

    def _respond(self, body: bytes) -> tuple[str, Any]:
        try:
            request = json.loads(body)
        except ValueError:
            request = {}
        if isinstance(request, dict) and request.get("method") == "unrip_stats":
            stats = {**self._relay.stats(), "invalidated": len(self.state.invalidated)}
            return "200 OK", {"jsonrpc": "2.0", "id": request.get("id"), "result": stats}
        if isinstance(request, dict) and request.get("method") == "unrip_quote_arrivals":
            params = request.get("params")
            prefix = params.get("prefix", "") if isinstance(params, dict) else ""
            arrivals = self._relay.arrivals_with_prefix(str(prefix))
            return "200 OK", {"jsonrpc": "2.0", "id": request.get("id"), "result": arrivals}
        return super()._respond(body)


async def serve(jwt: str, fill_share: float) -> None:
    state = VerifierState()
    relay = SharingRelay(jwt=jwt, chain=state, fill_share=fill_share)
    rpc = StatsRpc(state, relay)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with relay, rpc:
        print(json.dumps({"relay_url": relay.url, "rpc_url": rpc.url}), flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="standin", description=__doc__)
    parser.add_argument("--jwt", required=True)
    parser.add_argument("--fill-share", type=float, default=0.3)
    args = parser.parse_args(argv)
    asyncio.run(serve(args.jwt, args.fill_share))
    return 0


if __name__ == "__main__":
    sys.exit(main())
