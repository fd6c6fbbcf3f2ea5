"""Generate ``data/prices_{calm,trending,adverse}.jsonl``: recorded 1Click token-list polls.

``python -m unrip_dev.venues.near_intents.make_price_paths [--output-dir DIR] [--seed N]``

Each file is three minutes of ``GET /v0/tokens`` bodies, one per second, in the endpoint's
own JSON (``assetId``, ``decimals``, ``blockchain``, ``symbol``, ``price``,
``priceUpdatedAt``, ``contractAddress``), over the assets of ``data/tokens.yaml`` starting
at its snapshot prices. The same seed always writes the same bytes. The paths:

- ``calm``: every asset wanders a few basis points a second and ends where it started (a
  looping replay has no seam); a 30 bps spread earns more than the moves cost.
- ``trending``: wNEAR climbs 6 % and SOL falls 5 % steadily over the three minutes.
- ``adverse``: 15 s calm, then wNEAR, ETH and SOL slide 0.25 %/s for a minute (-15 %) and
  stay down: slower than the price-jump breaker's default 3 % in 10 s, so only inventory
  marked to market (the daily loss limit) stops the losses; takers who see the slide coming
  sell us the falling assets at our lagging prices.
"""

from __future__ import annotations

import argparse
import json
import math
import random
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Final

from unrip.venues.feed import format_line
from unrip.venues.near_intents.prices import DATA, PRICE_PATHS

from unrip_dev.venues.near_intents.tokens import TokenInfo, TokenTable, load_tokens

DEFAULT_SEED: Final = 20251128
SECONDS: Final = 180
NOISE_BPS: Final = 2.0
_STABLE: Final = frozenset({"USDC", "USDT"})


def _drift_per_s(path: str, symbol: str, t: int) -> float:
    """Relative drift of ``symbol`` in second ``t`` of ``path`` (before noise)."""
    if path == "trending":
        return {"wNEAR": 0.06 / SECONDS, "SOL": -0.05 / SECONDS}.get(symbol, 0.0)
    if path == "adverse" and symbol in {"wNEAR", "ETH", "SOL"} and 15 <= t < 75:
        return -0.0025
    return 0.0


def _series(path: str, token: TokenInfo, rng: random.Random) -> list[Decimal]:
    noise = NOISE_BPS / 10_000 / (4 if token.symbol in _STABLE else 1)
    log_price = [0.0]
    for t in range(1, SECONDS):
        log_price.append(
            log_price[-1] + math.log1p(_drift_per_s(path, token.symbol, t)) + rng.gauss(0, noise)
        )
    if path == "calm":  # a bridge: end where it started, so a loop has no jump
        end = log_price[-1]
        log_price = [x - end * i / (SECONDS - 1) for i, x in enumerate(log_price)]
    start = float(token.price_usd)
    return [Decimal(f"{start * math.exp(x):.6g}") for x in log_price]


def generate(tokens: TokenTable, path: str, *, seed: int = DEFAULT_SEED) -> list[tuple[int, str]]:
    """(t_ms, body) records; a pure function of its arguments."""
    rng = random.Random(f"{seed}:{path}")  # noqa: S311 (reproducible sample data)
    series = {t.asset_id: _series(path, t, rng) for t in tokens.tokens}
    records = []
    for second in range(SECONDS):
        updated = (tokens.as_of + timedelta(seconds=second)).isoformat(timespec="milliseconds")
        body = [
            {
                "assetId": t.asset_id,
                "decimals": t.decimals,
                "blockchain": t.blockchain,
                "symbol": t.symbol,
                "price": float(series[t.asset_id][second]),
                "priceUpdatedAt": updated.replace("+00:00", "Z"),
                "contractAddress": t.asset_id.split(":", 1)[1],
            }
            for t in tokens.tokens
        ]
        records.append((second * 1000, json.dumps(body, separators=(",", ":"))))
    return records


def write(output_dir: Path, *, seed: int = DEFAULT_SEED) -> list[Path]:
    tokens = load_tokens()
    written = []
    for path in PRICE_PATHS:
        target = output_dir / f"prices_{path}.jsonl"
        with target.open("w", encoding="utf-8") as out:
            for t_ms, text in generate(tokens, path, seed=seed):
                out.write(format_line(t_ms, text))
        written.append(target)
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--output-dir", type=Path, default=DATA)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args(argv)
    for target in write(args.output_dir, seed=args.seed):
        print(target)


if __name__ == "__main__":
    main()
