"""The committed sample feed and token table: current, well formed, and what the demo needs."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from unrip.contracts.payloads import SwapKind
from unrip.venues.feed import parse_line
from unrip.venues.near_intents.normalizer import NormalizedQuote, NormalizeError, normalize
from unrip_dev.venues.near_intents import make_sample_feed
from unrip_dev.venues.near_intents.tokens import TokenTable, load_tokens

SAMPLE = make_sample_feed.default_output()
NOW = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def tokens() -> TokenTable:
    return load_tokens()


@pytest.fixture(scope="module")
def records() -> list[tuple[int, str]]:
    return [parse_line(line) for line in SAMPLE.read_text(encoding="utf-8").splitlines()]


def test_committed_feed_is_what_the_generator_writes(tmp_path: Path) -> None:
    output = tmp_path / "feed.jsonl"
    make_sample_feed.main(["--output", str(output)])
    assert output.read_bytes() == SAMPLE.read_bytes(), (
        "data/sample_feed.jsonl is stale: "
        "run python -m unrip_dev.venues.near_intents.make_sample_feed"
    )


def test_generator_is_deterministic_per_seed(tokens: TokenTable) -> None:
    assert make_sample_feed.generate(tokens, seed=7, quotes=50) == make_sample_feed.generate(
        tokens, seed=7, quotes=50
    )
    assert make_sample_feed.generate(tokens, seed=7, quotes=50) != make_sample_feed.generate(
        tokens, seed=8, quotes=50
    )


def test_feed_spans_about_a_minute_in_order(records: list[tuple[int, str]]) -> None:
    times = [t for t, _ in records]
    assert times == sorted(times)
    assert 50_000 <= times[-1] <= 70_000


def test_feed_normalises_into_demands_and_the_documented_rejections(
    records: list[tuple[int, str]], tokens: TokenTable
) -> None:
    demands: list[NormalizedQuote] = []
    rejected: Counter[str] = Counter()
    skipped = 0
    for _, text in records:
        try:
            result = normalize(text, observed_at=NOW, source="file", response_window_ms=1000)
        except NormalizeError as exc:
            rejected[exc.code] += 1
            continue
        if result is None:
            skipped += 1
        else:
            demands.append(result)

    expected_rejections = Counter(code for code, _ in make_sample_feed.MALFORMED.values())
    assert rejected == expected_rejections
    assert len(demands) + sum(rejected.values()) == make_sample_feed.DEFAULT_QUOTES
    assert skipped >= 2  # the subscription acks and the quote_status notices
    assert len({d.quote_id for d in demands}) == len(demands)
    kinds = Counter(d.demand.kind for d in demands)
    assert kinds[SwapKind.EXACT_IN] > kinds[SwapKind.EXACT_OUT] > 0
    known = tokens.by_asset_id()
    for quote in demands:
        assert quote.demand.asset_in in known and quote.demand.asset_out in known
    assert {d.demand.asset_in for d in demands} == set(known)


def test_feed_has_both_event_forms(records: list[tuple[int, str]]) -> None:
    forms = Counter(
        '"method":"event"' in text and '"data":{"quote_id"' in text for _, text in records
    )
    flat = sum('"method":"subscribe"' in text and '"quote_id"' in text for _, text in records)
    assert forms[True] > 400
    assert flat > 20


def test_amounts_are_realistic_for_each_token(
    records: list[tuple[int, str]], tokens: TokenTable
) -> None:
    # Every fixed amount is worth between ~$5 and ~$30k at the reference prices.
    known = tokens.by_asset_id()
    for _, text in records:
        try:
            result = normalize(text, observed_at=NOW, source="file", response_window_ms=1000)
        except NormalizeError:
            continue
        if result is None:
            continue
        demand = result.demand
        token = known[demand.asset_in if demand.kind is SwapKind.EXACT_IN else demand.asset_out]
        amount = demand.exact_amount_in or demand.exact_amount_out or 0
        usd = amount / 10**token.decimals * float(token.price_usd)
        assert 5 <= usd <= 30_000, (token.symbol, amount, usd)


def test_token_table_names_six_real_assets(tokens: TokenTable) -> None:
    assert {t.symbol for t in tokens.tokens} == {"wNEAR", "USDC", "USDT", "ETH", "BTC", "SOL"}
    assert tokens.by_symbol("wNEAR").decimals == 24
    assert all(t.asset_id.startswith("nep141:") for t in tokens.tokens)
    assert tokens.as_of.tzinfo is not None


def test_token_table_rejects_duplicates_and_bad_asset_ids(tmp_path: Path) -> None:
    def table(*asset_ids: str) -> Path:
        rows = ", ".join(
            f'{{asset_id: "{a}", symbol: w, blockchain: near, decimals: 24, price_usd: "1"}}'
            for a in asset_ids
        )
        path = tmp_path / "tokens.yaml"
        path.write_text(f'as_of: "2026-01-01T00:00:00Z"\nsource: x\ntokens: [{rows}]\n')
        return path

    with pytest.raises(ValueError, match="unique"):
        load_tokens(table("nep141:wrap.near", "nep141:wrap.near"))
    with pytest.raises(ValueError, match="unknown_asset_id_form"):
        load_tokens(table("wrap.near"))
