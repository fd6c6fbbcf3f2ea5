"""The ingest's configuration: which venue stream to host and where its messages come from."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from unrip.runtime.settings import ServiceSettings


class IngestSettings(ServiceSettings):
    # A venue's name in unrip.venues.registry, and one of its streams (default: its only one).
    ingest_venue: str = "near_intents"
    ingest_stream: str | None = None
    # live: the venue itself (e.g. the relay); file: a recorded feed.
    ingest_source: Literal["live", "file"] = "file"
    # Default: the recording the venue ships for its stream.
    ingest_feed_path: Path | None = None
    ingest_feed_pace: Literal["recorded", "fast"] = "recorded"
    ingest_feed_speed: float = Field(default=1.0, gt=0)
    ingest_feed_loop: bool = False
    # Sends awaiting the broker's ack before the ingest waits for them (back-pressure).
    ingest_max_in_flight: int = Field(default=2000, ge=1)

    @field_validator("ingest_source", mode="before")
    @classmethod
    def _relay_means_live(cls, value: object) -> object:
        # "relay" was this setting's name for the live NEAR Intents source; it still works.
        return "live" if value == "relay" else value
