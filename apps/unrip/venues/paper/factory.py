"""Builds the paper venue's execution adapter: an HTTP client of the paper venue service."""

from __future__ import annotations

from unrip.venues.base import Venue
from unrip.venues.paper.client import PaperVenue
from unrip.venues.paper.settings import PaperClientSettings


def build_execution() -> Venue:
    settings = PaperClientSettings()
    return PaperVenue(settings.url, timeout_s=settings.timeout_s)
