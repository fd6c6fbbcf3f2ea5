"""Generate ``data/sample_feed.jsonl``: a deterministic, realistic minute of relay traffic.

``python -m unrip_dev.venues.near_intents.make_sample_feed [--output PATH] [--seed N]``

The same seed always writes the same bytes (a test checks the committed file is current).
What the minute contains:

- the acks of the ``quote`` and ``quote_status`` subscriptions (JSON-RPC results);
- ~600 quote requests, Poisson arrivals averaging one per 100 ms, over the token pairs of
  ``data/tokens.yaml`` (real NEAR Intents ``nep141:`` asset ids), both directions, 70 %
  exact-in / 30 % exact-out, notionals log-uniform from $10 to $25k expressed in each token's
  base units (rounded to three significant digits, as people type amounts);
- 90 % in the live nested form (``method: event``, ``params.data`` + ``params.metadata``),
  10 % in the documented flat form (``method: subscribe``, fields under ``params``);
- ~10 % router sub-leg auctions (``protocol_fee_included: true``, ``min_wait_ms: 1``);
- a few ``quote_status`` settlement notices (not quote requests: the normaliser skips them);
- six deliberately malformed quote requests (~1 %), one per rejection the DLQ should show,
  listed in ``MALFORMED``.
"""

from __future__ import annotations

import argparse
import json
import random
import uuid
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any, Final

from unrip.venues.feed import format_line
from unrip.venues.near_intents.source import QUOTES

from unrip_dev.venues.near_intents.tokens import TokenTable, load_tokens

DEFAULT_SEED: Final = 20250506
DEFAULT_QUOTES: Final = 600
DEFAULT_MEAN_GAP_MS: Final = 100

# (symbol, symbol, relative weight): the pairs the demo sees, stablecoin pairs most often.
PAIRS: Final = (
    ("wNEAR", "USDC", 6),
    ("wNEAR", "USDT", 3),
    ("USDC", "USDT", 4),
    ("ETH", "USDC", 4),
    ("BTC", "USDC", 3),
    ("SOL", "USDC", 3),
    ("ETH", "wNEAR", 2),
    ("BTC", "ETH", 1),
    ("SOL", "wNEAR", 1),
    ("ETH", "USDT", 2),
)

# Which malformed request replaces which quote (by index), and the normaliser code it must get:
MALFORMED: Final = {
    57: ("not_json", "frame truncated mid-object, as a broken proxy would deliver it"),
    143: ("both_amounts", "exact_amount_in and exact_amount_out both set"),
    251: ("no_amount", "neither exact amount set"),
    333: ("non_integer_amount", "amount in whole tokens ('12.5') instead of base units"),
    419: ("same_asset", "the same asset on both sides"),
    512: ("unknown_asset_id_form", "an Ethereum-style 'erc20:0x...' id instead of nep141:"),
}
QUOTE_STATUS_EVERY: Final = 97  # one settlement notice after every 97th quote

_PARTNERS: Final = ("1click", "near-intents-app", "wallet-partner")


def generate(
    tokens: TokenTable,
    *,
    seed: int = DEFAULT_SEED,
    quotes: int = DEFAULT_QUOTES,
    mean_gap_ms: int = DEFAULT_MEAN_GAP_MS,
) -> list[tuple[int, str]]:
    """(t_ms, frame text) records; a pure function of its arguments."""
    rng = random.Random(seed)  # noqa: S311 (reproducible sample data, not secrets)
    sub_quote, sub_status = _uuid(rng), _uuid(rng)
    records = [
        (0, _compact({"jsonrpc": "2.0", "id": 1, "result": sub_quote})),
        (1, _compact({"jsonrpc": "2.0", "id": 2, "result": sub_status})),
    ]
    pairs = [(a, b) for a, b, _ in PAIRS]
    weights = [w for _, _, w in PAIRS]
    t_ms = 5
    for index in range(quotes):
        t_ms += max(1, round(rng.expovariate(1 / mean_gap_ms)))
        first, second = rng.choices(pairs, weights)[0]
        symbol_in, symbol_out = (first, second) if rng.random() < 0.5 else (second, first)
        data = _quote(rng, tokens, symbol_in, symbol_out)
        if index in MALFORMED:
            frame = _malformed(MALFORMED[index][0], data, sub_quote, rng)
        elif rng.random() < 0.9:
            frame = _nested(data, sub_quote, rng)
        else:
            frame = _flat(data, sub_quote)
        records.append((t_ms, frame))
        if index % QUOTE_STATUS_EVERY == QUOTE_STATUS_EVERY - 1:
            t_ms += 1
            records.append((t_ms, _quote_status(sub_status, rng)))
    return records


def _quote(
    rng: random.Random, tokens: TokenTable, symbol_in: str, symbol_out: str
) -> dict[str, Any]:
    token_in, token_out = tokens.by_symbol(symbol_in), tokens.by_symbol(symbol_out)
    exact_in = rng.random() < 0.7
    fixed = token_in if exact_in else token_out
    notional = Decimal(10) ** Decimal(rng.uniform(1, 4.4))  # $10 .. ~$25k
    whole = _three_significant(notional / fixed.price_usd)
    data: dict[str, Any] = {
        "quote_id": _uuid(rng),
        "defuse_asset_identifier_in": token_in.asset_id,
        "defuse_asset_identifier_out": token_out.asset_id,
        ("exact_amount_in" if exact_in else "exact_amount_out"): str(fixed.to_base_units(whole)),
        "min_deadline_ms": rng.choice((60_000, 60_000, 60_000, 60_000, 120_000, 30_000)),
    }
    if rng.random() < 0.1:  # router sub-leg: tiny accept window
        data |= {"min_wait_ms": 1, "max_wait_ms": 300, "protocol_fee_included": True}
    else:
        min_wait_ms = rng.choice((300, 600, 1000, 1900))
        data |= {
            "min_wait_ms": min_wait_ms,
            "max_wait_ms": max(3000, min_wait_ms + 1000),
            "protocol_fee_included": False,
        }
    return data


def _three_significant(value: Decimal) -> Decimal:
    exponent = value.adjusted() - 2
    return value.quantize(Decimal(1).scaleb(exponent), rounding=ROUND_HALF_EVEN)


def _nested(data: dict[str, Any], subscription: str, rng: random.Random) -> str:
    partner = "router-solver" if data.get("protocol_fee_included") else rng.choice(_PARTNERS)
    metadata = {
        "partner_id": partner,
        "traceparent": f"00-{rng.getrandbits(128):032x}-{rng.getrandbits(64):016x}-01",
    }
    params = {"subscription": subscription, "data": data, "metadata": metadata}
    return _compact({"jsonrpc": "2.0", "method": "event", "params": params})


def _flat(data: dict[str, Any], subscription: str) -> str:
    params = {"subscription": subscription, **data}
    return _compact({"jsonrpc": "2.0", "method": "subscribe", "params": params})


def _malformed(code: str, data: dict[str, Any], subscription: str, rng: random.Random) -> str:
    broken = dict(data)
    if code == "not_json":
        text = _nested(broken, subscription, rng)
        return text[: len(text) // 2]
    if code == "both_amounts":
        amount = broken.get("exact_amount_in") or broken.get("exact_amount_out")
        broken["exact_amount_in"] = broken["exact_amount_out"] = amount
    elif code == "no_amount":
        broken.pop("exact_amount_in", None)
        broken.pop("exact_amount_out", None)
    elif code == "non_integer_amount":
        broken.pop("exact_amount_out", None)
        broken["exact_amount_in"] = "12.5"
    elif code == "same_asset":
        broken["defuse_asset_identifier_out"] = broken["defuse_asset_identifier_in"]
    elif code == "unknown_asset_id_form":
        broken["defuse_asset_identifier_in"] = "erc20:0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"
    else:
        raise ValueError(f"no recipe for a malformed request with code {code!r}")
    return _nested(broken, subscription, rng)


def _quote_status(subscription: str, rng: random.Random) -> str:
    data = {
        "quote_hash": _base58ish(rng, 44),
        "intent_hash": _base58ish(rng, 44),
        "tx_hash": _base58ish(rng, 44),
    }
    params = {"subscription": subscription, "data": data}
    return _compact({"jsonrpc": "2.0", "method": "event", "params": params})


_BASE58: Final = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _base58ish(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(_BASE58) for _ in range(length))


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _compact(message: dict[str, Any]) -> str:
    return json.dumps(message, separators=(",", ":"))


def default_output() -> Path:
    recording = QUOTES.recorded_feed
    assert recording is not None
    return recording


def write(path: Path, records: Sequence[tuple[int, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        for t_ms, text in records:
            handle.write(format_line(t_ms, text))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--output", type=Path, default=default_output())
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--quotes", type=int, default=DEFAULT_QUOTES)
    parser.add_argument("--mean-gap-ms", type=int, default=DEFAULT_MEAN_GAP_MS)
    args = parser.parse_args(argv)
    records = generate(
        load_tokens(), seed=args.seed, quotes=args.quotes, mean_gap_ms=args.mean_gap_ms
    )
    write(args.output, records)
    print(f"wrote {len(records)} frames over {records[-1][0] / 1000:.1f} s to {args.output}")


if __name__ == "__main__":
    main()
