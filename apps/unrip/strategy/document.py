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
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal, Self

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

log = logging.getLogger(__name__)

MAX_QUOTE_VALIDITY_CEILING_MS = 86_400_000
PRICE_SCALE = 10**12  # reference prices become integers of 1e-12 USD: exact, fast arithmetic

PositiveUsd = Annotated[Decimal, Field(gt=0)]
NonNegativeUsd = Annotated[Decimal, Field(ge=0)]


BaseUnitAmount = Annotated[int, Field(ge=0)]

# The quoting models the reactor can load by name (unrip.reactor.models maps each to code).
MODEL_NAMES = ("spread", "inventory_skew")


class AssetPrice(BaseModel):
    """A reference price: from the bus (``norm.reference_price``) or, for paper, static."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    symbol: str
    decimals: int = Field(ge=0, le=36)
    usd_price: PositiveUsd

    @property
    def scaled_price(self) -> int:
        return int(self.usd_price * PRICE_SCALE)


class AssetConfig(BaseModel):
    """One tradable asset: its static price (paper/test only), staleness bound, inventory."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    symbol: str
    decimals: int = Field(ge=0, le=36)
    usd_price: PositiveUsd | None = Field(default=None, description="prices.source=static only")
    max_price_age_s: float | None = Field(default=None, gt=0, description="default: prices'")
    start_balance: BaseUnitAmount = Field(default=0, description="inventory at the start")
    min_inventory: BaseUnitAmount = Field(default=0, description="never give below this")
    max_position: BaseUnitAmount | None = Field(default=None, description="never hold more")

    @property
    def price(self) -> AssetPrice | None:
        if self.usd_price is None:
            return None
        return AssetPrice(symbol=self.symbol, decimals=self.decimals, usd_price=self.usd_price)


class PriceSource(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # bus: the latest norm.reference_price per asset; static: the usd_price of each asset
    # (an explicit paper/test option: it never goes stale and never follows the market).
    source: Literal["bus", "static"] = "bus"
    max_age_s: float = Field(default=30.0, gt=0, description="older prices skip: stale_price")


class CircuitBreakers(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    losing_fills_in_a_row: int = Field(default=5, ge=1)
    price_jump_pct: PositiveUsd = Field(default=Decimal(3), description="move within the window")
    price_jump_window_s: float = Field(default=10.0, gt=0)
    cooldown_s: float = Field(default=60.0, gt=0)


class RiskLimits(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    max_notional_usd: PositiveUsd = Field(description="largest single trade, USD")
    max_open_exposure_usd: PositiveUsd = Field(description="commands without a result, USD")
    daily_loss_limit_usd: PositiveUsd = Field(description="stop trading at this UTC-day loss")
    kill_switch: bool = Field(default=False, description="true: emit no commands at all")
    max_inventory_notional_usd: PositiveUsd | None = Field(
        default=None, description="sum over assets of |inventory - start| at the latest prices"
    )
    # An operator reset of a tripped daily loss limit: a trip before this instant no longer
    # halts quoting, and the loss budget restarts from the PnL at the reset.
    daily_loss_reset_at: datetime | None = None
    circuit_breakers: CircuitBreakers = CircuitBreakers()


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
    model: str = Field(default="spread", description=f"one of {', '.join(MODEL_NAMES)}")
    # inventory_skew: how far (bps) a full position moves the spread (see unrip.reactor.models).
    skew_bps: int = Field(default=20, ge=0, le=5000)
    prices: PriceSource = PriceSource()
    limits: RiskLimits
    assets: dict[str, AssetConfig] = Field(min_length=2)

    @field_validator("model")
    @classmethod
    def _known_model(cls, model: str) -> str:
        if model not in MODEL_NAMES:
            raise ValueError(f"model {model!r} is not one of {', '.join(MODEL_NAMES)}")
        return model

    @model_validator(mode="after")
    def _validity_within_maximum(self) -> Self:
        if self.quote_validity_ms > self.max_quote_validity_ms:
            raise ValueError(
                f"quote_validity_ms {self.quote_validity_ms} exceeds "
                f"max_quote_validity_ms {self.max_quote_validity_ms}"
            )
        return self

    @model_validator(mode="after")
    def _static_prices_given(self) -> Self:
        if self.prices.source == "static":
            unpriced = [a for a, c in self.assets.items() if c.usd_price is None]
            if unpriced:
                raise ValueError(f"prices.source static needs usd_price for {unpriced}")
        return self

    def max_price_age_s(self, asset_id: str) -> float:
        config = self.assets.get(asset_id)
        age = config.max_price_age_s if config is not None else None
        return self.prices.max_age_s if age is None else age

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        # A copy with other fields must not inherit the derived values cached below.
        copied = super().model_copy(update=update, deep=deep)
        for derived in ("inventory_cap_usd", "price_age_bounds"):
            copied.__dict__.pop(derived, None)
        return copied

    @cached_property
    def inventory_cap_usd(self) -> float | None:
        """``limits.max_inventory_notional_usd`` as a float, for the decision's hot path."""
        cap = self.limits.max_inventory_notional_usd
        return None if cap is None else float(cap)

    @cached_property
    def price_age_bounds(self) -> dict[str, timedelta]:
        """Per-asset staleness bounds, made once per strategy rather than per decision."""
        return {a: timedelta(seconds=self.max_price_age_s(a)) for a in self.assets}

    @field_validator("assets")
    @classmethod
    def _known_forms(cls, assets: dict[str, AssetConfig]) -> dict[str, AssetConfig]:
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


def killed(strategy: Strategy) -> Strategy:
    """``strategy`` with the kill switch forced on: what a rejected or unreadable edit leaves."""
    if strategy.limits.kill_switch:
        return strategy
    limits = strategy.limits.model_copy(update={"kill_switch": True})
    return strategy.model_copy(update={"limits": limits})


@dataclass
class StrategyFile:
    """A strategy file polled for changes; a broken edit turns the kill switch on.

    Fail closed: an operator who saved an invalid edit meant to change something (perhaps to
    stop trading), so the last good strategy stays loaded for its prices and limits but emits
    no command until a valid edit is saved.
    """

    path: Path
    poll_interval_s: float = 1.0

    def __post_init__(self) -> None:
        self._good = load_strategy(self.path)
        self._signature: tuple[int, int, int] | None = self._stat()
        self._next_check = 0.0  # the first refresh() always looks
        self.rejected = False
        self.reloads = 0
        self.errors = 0

    @property
    def current(self) -> Strategy:
        return killed(self._good) if self.rejected else self._good

    def _stat(self) -> tuple[int, int, int]:
        stat = self.path.stat()
        return (stat.st_mtime_ns, stat.st_size, stat.st_ino)

    def refresh(self, now: float | None = None) -> bool:
        """Reload if the file changed (checked at most once per poll interval).

        True when ``current`` changed: a valid edit applied, or a broken one forced the kill
        switch on.
        """
        now = time.monotonic() if now is None else now
        if now < self._next_check:
            return False
        self._next_check = now + self.poll_interval_s
        try:
            signature = self._stat()
        except OSError as exc:
            self._signature = None
            return self._reject("strategy file unreadable", exc)
        if signature == self._signature:
            return False
        self._signature = signature
        try:
            strategy = load_strategy(self.path)
        except (OSError, ValueError) as exc:
            return self._reject("strategy reload rejected", exc)
        self._good = strategy
        self.rejected = False
        self.reloads += 1
        log.info(
            "strategy reloaded",
            extra={"strategy_id": strategy.strategy_id, "kill_switch": strategy.limits.kill_switch},
        )
        return True

    def _reject(self, what: str, exc: Exception) -> bool:
        self.errors += 1
        was_rejected, self.rejected = self.rejected, True
        if not was_rejected:
            log.error(
                f"{what}; kill switch forced on until a valid edit", extra={"error": str(exc)}
            )
        return not was_rejected
