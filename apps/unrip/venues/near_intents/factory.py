"""Builds the NEAR Intents execution adapter, refusing to start without signing credentials."""

from __future__ import annotations

from unrip.venues.base import Venue
from unrip.venues.near_intents.settings import MissingCredentialsError, NearIntentsSettings
from unrip.venues.plugin import VenueConfigError


def build_execution() -> Venue:
    """``NearIntentsVenue`` from ``UNRIP_NEAR_INTENTS_*``; checked before the bus is touched."""
    from unrip.venues.near_intents.responder import NearIntentsVenue

    near = NearIntentsSettings()
    try:
        near.solver_identity()
    except MissingCredentialsError as exc:
        raise VenueConfigError(f"live NEAR Intents execution refused: {exc}") from None
    return NearIntentsVenue(near)
