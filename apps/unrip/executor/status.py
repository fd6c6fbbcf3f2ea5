"""The executor's part of ``/status``: what it owns, what is in flight and for how long."""

from __future__ import annotations

from typing import Any

from unrip.executor.in_flight import InFlightAges
from unrip.executor.ledger import Ledger
from unrip.runtime.consumer import ConsumerLoop


def executor_status(
    *,
    venue: str,
    group: str,
    in_flight: InFlightAges,
    max_age_s: float,
    ledger: Ledger | None,
    loop: ConsumerLoop | None,
) -> dict[str, Any]:
    oldest = in_flight.oldest_age_s()
    return {
        "venue": venue,
        "in_flight": {
            "count": len(in_flight),
            "oldest_age_s": round(oldest, 3),
            "max_age_s": max_age_s,
            "overdue": oldest > max_age_s,
            "oldest_commands": in_flight.ages_s(),
        },
        "ledger": None
        if ledger is None
        else {"partitions": ledger.owned, "entries": ledger.owned_entries()},
        "consumer": {"group": group, **(loop.status() if loop else {})},
    }
