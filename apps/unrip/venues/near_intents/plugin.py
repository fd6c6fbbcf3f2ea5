"""The NEAR Intents venue plug-in: streams, execution adapter, schemas, settings, secrets."""

from __future__ import annotations

from unrip.venues.near_intents import VENUE
from unrip.venues.near_intents.factory import build_execution
from unrip.venues.near_intents.prices import PRICES, NearIntentsTokenListV1
from unrip.venues.near_intents.schemas import NearIntentsQuoteEventV1
from unrip.venues.near_intents.secrets import SECRETS
from unrip.venues.near_intents.settings import NearIntentsSettings
from unrip.venues.near_intents.source import QUOTES
from unrip.venues.plugin import VenuePlugin

PLUGIN = VenuePlugin(
    name=VENUE,
    streams={QUOTES.name: QUOTES, PRICES.name: PRICES},
    default_stream=QUOTES.name,
    execution=build_execution,
    schemas=(NearIntentsQuoteEventV1, NearIntentsTokenListV1),
    settings=(NearIntentsSettings,),
    secrets=SECRETS,
)
