"""The strategy, re-exported where the reactor's callers have always found it.

The code lives in ``unrip.strategy.document`` (shared with the executor's kill switch).
"""

from unrip.strategy.document import (
    DEFAULT_STRATEGY_PATH,
    MAX_QUOTE_VALIDITY_CEILING_MS,
    PRICE_SCALE,
    AssetPrice,
    RiskLimits,
    Strategy,
    StrategyFile,
    load_strategy,
    parse_strategy,
)

__all__ = [
    "DEFAULT_STRATEGY_PATH",
    "MAX_QUOTE_VALIDITY_CEILING_MS",
    "PRICE_SCALE",
    "AssetPrice",
    "RiskLimits",
    "Strategy",
    "StrategyFile",
    "load_strategy",
    "parse_strategy",
]
