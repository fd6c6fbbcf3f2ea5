"""How the executor reaches the paper venue, from ``UNRIP_PAPER_VENUE_*`` variables."""

from __future__ import annotations

from typing import Final

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX: Final = "UNRIP_PAPER_VENUE_"


class PaperClientSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    url: str = "http://127.0.0.1:8090"
    timeout_s: float = Field(default=5.0, gt=0)
