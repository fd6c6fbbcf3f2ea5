"""The executor's configuration (``UNRIP_EXECUTOR_*``)."""

from __future__ import annotations

from pydantic import Field

from unrip.runtime.settings import CommandSigningSettings


class ExecutorSettings(CommandSigningSettings):
    executor_group_id: str = "executor"
    # A venue's name in unrip.venues.registry; the venue reads its own settings.
    executor_venue: str = "paper"
    executor_venue_retry_initial_s: float = Field(default=0.05, gt=0)
    executor_venue_retry_max_s: float = Field(default=2.0, gt=0)
    # A command in flight (executing or submitted) longer than this is overdue: the
    # ExecutorInFlightTooOld alert compares the oldest age with it (docs/runbooks.md). Covers
    # a venue whose outcome comes a minute after submission (NEAR: settle or expire).
    executor_in_flight_max_age_s: float = Field(default=120.0, gt=0)
