"""How big the pipeline's messages are, so that the baseline relays the same bytes.

One sample quote is taken through the real code (normaliser, reactor decision, executor
result builder) and each hop's record is encoded as the services encode it. The baseline's
message size is the mean over the three hops (value plus headers).
"""

from __future__ import annotations

from datetime import timedelta

from unrip.contracts import TradeStatus, encode, make_envelope, utc_now
from unrip.executor.results import result_envelope
from unrip.reactor.decision import Market, Trade, decide
from unrip.reactor.risk import RiskState
from unrip.reactor.strategy import DEFAULT_STRATEGY_PATH, load_strategy
from unrip.venues.near_intents.normalizer import normalize

from unrip_dev.bench.feed import template_frames


def _record_bytes(value: bytes, headers: list[tuple[str, bytes]]) -> int:
    return len(value) + sum(len(k) + len(v) for k, v in headers)


def hop_message_bytes() -> dict[str, int]:
    """Encoded size of a demand, its command and its result (one sample quote)."""
    now = utc_now()
    strategy = load_strategy(DEFAULT_STRATEGY_PATH)
    for text in template_frames():
        normalized = normalize(text, observed_at=now, source="file", response_window_ms=60_000)
        if normalized is None:
            continue
        decision = decide(
            normalized.demand,
            venue="near_intents",
            demand_observed_at=now,
            strategy=strategy,
            risk=RiskState(day=now.date()),
            market=Market.static(strategy, now),
            now=now,
        )
        if not isinstance(decision, Trade):
            continue
        demand = make_envelope(normalized.demand, venue="near_intents", observed_at=now)
        command = make_envelope(decision.command, venue="near_intents", observed_at=now)
        result = result_envelope(
            decision.command,
            venue="near_intents",
            execution_venue="paper",
            command_event_id=command.event_id,
            correlation_id=demand.event_id,
            status=TradeStatus.FILLED,
            at=now + timedelta(milliseconds=5),
        )
        return {
            name: _record_bytes(*encode(envelope))
            for name, envelope in (("demand", demand), ("command", command), ("result", result))
        }
    raise RuntimeError("no sample quote becomes a trade under the default strategy")


def baseline_message_bytes(sizes: dict[str, int]) -> int:
    return round(sum(sizes.values()) / len(sizes))
