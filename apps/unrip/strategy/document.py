"""The strategy and risk limits: a YAML document, validated, reloadable live.

The reactor decides with it; the executor reads the same source for the kill switch (so a
command already on the bus is not signed once the switch is on). Shared code below the
services, so neither service imports the other.

Locally it is a file (``StrategyFile``); in the cluster the same document is a ConfigMap read
through the Kubernetes API (``unrip.strategy.configmap``). Either way an edit changes prices,
spread and limits without a restart, and the kill switch takes effect on the next decision
after the reload.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Self

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

log = logging.getLogger(__name__)

MAX_QUOTE_VALIDITY_CEILING_MS = 86_400_000
PRICE_SCALE = 10**12  # reference prices become integers of 1e-12 USD: exact, fast arithmetic

PositiveUsd = Annotated[Decimal, Field(gt=0)]
NonNegativeUsd = Annotated[Decimal, Field(ge=0)]


class AssetPrice(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    symbol: str
    decimals: int = Field(ge=0, le=36)
    usd_price: PositiveUsd

    @property
    def scaled_price(self) -> int:
        return int(self.usd_price * PRICE_SCALE)


class RiskLimits(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    max_notional_usd: PositiveUsd = Field(description="largest single trade, USD")
    max_open_exposure_usd: PositiveUsd = Field(description="commands without a result, USD")
    daily_loss_limit_usd: PositiveUsd = Field(description="stop trading at this UTC-day loss")
    kill_switch: bool = Field(default=False, description="true: emit no commands at all")


class Strategy(BaseModel):
    """A validated strategy document (see apps/unrip/reactor/default_strategy.yaml)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    strategy_id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    spread_bps: int = Field(ge=0, le=5000)
    min_notional_usd: NonNegativeUsd = Decimal(0)
    quote_validity_ms: int = Field(default=60_000, ge=0)
    # How long a signed quote may stay valid at most: a requester asking for longer is skipped
    # (a signed quote is an open promise until its deadline). At most a day, so deadline
    # arithmetic stays far inside datetime's range.
    max_quote_validity_ms: int = Field(default=120_000, gt=0, le=MAX_QUOTE_VALIDITY_CEILING_MS)
    limits: RiskLimits
    assets: dict[str, AssetPrice] = Field(min_length=2)

    @model_validator(mode="after")
    def _validity_within_maximum(self) -> Self:
        if self.quote_validity_ms > self.max_quote_validity_ms:
            raise ValueError(
                f"quote_validity_ms {self.quote_validity_ms} exceeds "
                f"max_quote_validity_ms {self.max_quote_validity_ms}"
            )
        return self

    @field_validator("assets")
    @classmethod
    def _known_forms(cls, assets: dict[str, AssetPrice]) -> dict[str, AssetPrice]:
        for asset_id in assets:
            if ":" not in asset_id:
                raise ValueError(f"asset id {asset_id!r} must be venue-qualified (e.g. nep141:...)")
        return assets


def parse_strategy(text: str, origin: str = "<string>") -> Strategy:
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"{origin}: not valid YAML: {exc}") from None
    try:
        return Strategy.model_validate(document)
    except ValidationError as exc:
        raise ValueError(f"{origin}: invalid strategy: {exc}") from None


def load_strategy(path: Path) -> Strategy:
    return parse_strategy(path.read_text(), str(path))


# The shipped strategy lives beside the reactor (manifests/base/reactor/strategy.yaml copies it).
DEFAULT_STRATEGY_PATH = Path(__file__).parents[1] / "reactor" / "default_strategy.yaml"


@dataclass
class StrategyFile:
    """A strategy file polled for changes; a broken edit keeps the last good strategy."""

    path: Path
    poll_interval_s: float = 1.0

    def __post_init__(self) -> None:
        self.current = load_strategy(self.path)
        self._signature = self._stat()
        self._next_check = 0.0  # the first refresh() always looks
        self.reloads = 0
        self.errors = 0

    def _stat(self) -> tuple[int, int, int]:
        stat = self.path.stat()
        return (stat.st_mtime_ns, stat.st_size, stat.st_ino)

    def refresh(self, now: float | None = None) -> bool:
        """Reload if the file changed (checked at most once per poll interval)."""
        now = time.monotonic() if now is None else now
        if now < self._next_check:
            return False
        self._next_check = now + self.poll_interval_s
        try:
            signature = self._stat()
        except OSError as exc:
            self.errors += 1
            log.error(
                "strategy file unreadable; keeping the last good one", extra={"error": str(exc)}
            )
            return False
        if signature == self._signature:
            return False
        self._signature = signature
        try:
            strategy = load_strategy(self.path)
        except (OSError, ValueError) as exc:
            self.errors += 1
            log.error(
                "strategy reload rejected; keeping the last good one", extra={"error": str(exc)}
            )
            return False
        self.current = strategy
        self.reloads += 1
        log.info(
            "strategy reloaded",
            extra={"strategy_id": strategy.strategy_id, "kill_switch": strategy.limits.kill_switch},
        )
        return True
