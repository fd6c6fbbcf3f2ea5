"""Readiness that follows the venue's connection (NEAR: the relay websocket).

A venue whose connection drops cannot answer auctions or observe fills; while it is down the
pod reports not ready (``/readyz`` names ``venue``), so the operator and the rollout see it.
Venues without a ``ready`` property (paper) are ready once started.
"""

from __future__ import annotations

import asyncio

from unrip.runtime.health import Health
from unrip.runtime.service import sleep_unless_stopped
from unrip.venues.base import Venue

CONDITION = "venue"


async def follow_venue(
    venue: Venue, health: Health, stop: asyncio.Event, interval_s: float
) -> None:
    """Until stopped: ``venue`` satisfied while the venue reports ready, awaited otherwise."""
    while not stop.is_set():
        reflect(venue, health)
        await sleep_unless_stopped(stop, interval_s)


def reflect(venue: Venue, health: Health) -> None:
    """One look at the venue's connection, applied to the readiness conditions."""
    if getattr(venue, "ready", True):
        health.satisfied(CONDITION)
    else:
        health.wait_for(CONDITION)
