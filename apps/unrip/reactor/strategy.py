"""The strategy, re-exported where the reactor's callers have always found it.

The code lives in ``unrip.strategy.document`` (shared with the executor's kill switch).
"""

from unrip.strategy.document import (
    DEFAULT_STRATEGY_PATH,
    MAX_QUOTE_VALIDITY_CEILING_MS,
    MODEL_NAMES,
    PRICE_SCALE,
    AssetConfig,
    AssetPrice,
    BaseUnitAmount,
    CircuitBreakers,
    NonNegativeUsd,
    PositiveUsd,
    PriceSource,
    RiskLimits,
    Strategy,
    StrategyFile,
    killed,
    load_strategy,
    parse_strategy,
)

__all__ = [
    "DEFAULT_STRATEGY_PATH",
    "MAX_QUOTE_VALIDITY_CEILING_MS",
    "MODEL_NAMES",
    "PRICE_SCALE",
    "AssetConfig",
    "AssetPrice",
    "BaseUnitAmount",
    "CircuitBreakers",
    "NonNegativeUsd",
    "PositiveUsd",
    "PriceSource",
    "RiskLimits",
    "Strategy",
    "StrategyFile",
    "killed",
    "load_strategy",
    "parse_strategy",
]
