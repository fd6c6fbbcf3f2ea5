"""The paper venue plug-in: execution only (it has no market data of its own)."""

from __future__ import annotations

from unrip.venues.paper.factory import build_execution
from unrip.venues.paper.settings import PaperClientSettings
from unrip.venues.plugin import VenuePlugin

PLUGIN = VenuePlugin(name="paper", execution=build_execution, settings=(PaperClientSettings,))
