"""The sample-feed generator's token table (``data/tokens.yaml``): asset id, symbol, decimals, USD.

Prices are kept as decimal strings in the file and ``Decimal`` here: a reference price must
survive a round trip exactly, and binary floats would not.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Annotated, Self

import yaml
from pydantic import AfterValidator, Field, model_validator
from unrip.contracts.envelope import Schema, UtcDatetime
from unrip.venues.near_intents.assets import check_asset_id

AssetId = Annotated[str, AfterValidator(check_asset_id)]


class TokenInfo(Schema):
    asset_id: AssetId
    symbol: str = Field(min_length=1)
    blockchain: str = Field(min_length=1)
    decimals: int = Field(ge=0, le=36)
    price_usd: Decimal = Field(gt=0)

    def to_base_units(self, amount: Decimal) -> int:
        """Whole-token amount -> base units, truncated."""
        return int(amount.scaleb(self.decimals))


class TokenTable(Schema):
    as_of: UtcDatetime
    source: str
    tokens: tuple[TokenInfo, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> Self:
        ids = [t.asset_id for t in self.tokens]
        if len(ids) != len(set(ids)):
            raise ValueError("asset ids must be unique")
        return self

    def by_asset_id(self) -> dict[str, TokenInfo]:
        return {t.asset_id: t for t in self.tokens}

    def by_symbol(self, symbol: str) -> TokenInfo:
        for token in self.tokens:
            if token.symbol == symbol:
                return token
        raise KeyError(f"no token with symbol {symbol!r}")


def default_tokens_path() -> Path:
    return Path(__file__).with_name("data") / "tokens.yaml"


def load_tokens(path: Path | None = None) -> TokenTable:
    """Load and validate a token table (the packaged one by default)."""
    source = path or default_tokens_path()
    with source.open(encoding="utf-8") as handle:
        return TokenTable.model_validate(yaml.safe_load(handle))


__all__ = ["TokenInfo", "TokenTable", "default_tokens_path", "load_tokens"]
