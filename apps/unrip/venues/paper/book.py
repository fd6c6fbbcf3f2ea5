"""The paper venue's order book: SQLite, one row per client order id, every attempt logged.

Like a real venue it executes a client order id at most once and answers "what happened to
this order?". It also logs every submission, duplicates included, so tests can tell the
executor's own idempotency (no duplicate submissions) from the venue's fencing (duplicates
refused). With a price path (``unrip.venues.paper.market``) whether an order fills depends on
how off-market it is in the taker's favour (adverse selection); fills are always at the
quoted amounts. Without one, a fixed share of orders fills.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from unrip.venues.base import OrderStatus, VenueOrder, VenueOutcome
from unrip.venues.paper.market import PricePath, fill_probability

_SCHEMA = """
CREATE TABLE IF NOT EXISTS orders (
    client_order_id TEXT PRIMARY KEY,
    command_id TEXT NOT NULL,
    quote_id TEXT NOT NULL,
    status TEXT NOT NULL,
    amount_in TEXT NOT NULL,
    amount_out TEXT NOT NULL,
    executed_at TEXT NOT NULL,
    venue_reference TEXT NOT NULL,
    reason TEXT
);
CREATE TABLE IF NOT EXISTS submissions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    client_order_id TEXT NOT NULL,
    received_at TEXT NOT NULL,
    duplicate INTEGER NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class BookStats:
    orders: int
    filled: int
    not_filled: int
    rejected: int
    submissions: int
    duplicate_submissions: int


class PaperBook:
    """Thread-safe: the HTTP layer calls it from worker threads."""

    def __init__(
        self,
        path: Path | str,
        fill_probability: float = 0.85,
        market: PricePath | None = None,
        *,
        synchronous: Literal["NORMAL", "FULL"] = "FULL",
    ) -> None:
        if not 0.0 <= fill_probability <= 1.0:
            raise ValueError("fill_probability must be within [0, 1]")
        if synchronous not in ("NORMAL", "FULL"):
            raise ValueError("synchronous must be NORMAL or FULL")
        self.fill_probability = fill_probability
        self.market = market
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: an acknowledged fill survives a power loss; NORMAL (with WAL): a process crash.
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _takes(self, order: VenueOrder, now: datetime) -> bool:
        # Deterministic per order (and price), so a rerun of the same feed gives the same fills.
        digest = hashlib.sha256(order.client_order_id.encode()).digest()
        chance = self.fill_probability
        if self.market is not None:
            edge = self.market.taker_edge_bps(order, now)
            if edge is not None:
                chance = fill_probability(edge, base=self.fill_probability)
        return int.from_bytes(digest[:8], "big") / 2**64 < chance

    def submit(
        self, orders: Sequence[VenueOrder], now: datetime | None = None
    ) -> list[VenueOutcome]:
        now = now or datetime.now(UTC)
        stamp = now.isoformat()
        outcomes: list[VenueOutcome] = []
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                for order in orders:
                    existing = self._get(order.client_order_id)
                    self._db.execute(
                        "INSERT INTO submissions (client_order_id, received_at, duplicate)"
                        " VALUES (?, ?, ?)",
                        (order.client_order_id, stamp, int(existing is not None)),
                    )
                    if existing is not None:
                        outcomes.append(replace(existing, duplicate=True))
                        continue
                    outcome = self._execute(order, now)
                    self._db.execute(
                        "INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            order.client_order_id,
                            order.command_id,
                            order.quote_id,
                            outcome.status.value,
                            str(outcome.amount_in),
                            str(outcome.amount_out),
                            outcome.executed_at.isoformat(),
                            outcome.venue_reference,
                            outcome.reason,
                        ),
                    )
                    outcomes.append(outcome)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return outcomes

    def _execute(self, order: VenueOrder, now: datetime) -> VenueOutcome:
        reference = "paper-" + hashlib.sha256(order.client_order_id.encode()).hexdigest()[:20]
        if now > order.deadline:
            return VenueOutcome(
                client_order_id=order.client_order_id,
                status=OrderStatus.REJECTED,
                amount_in=0,
                amount_out=0,
                executed_at=now,
                venue_reference=reference,
                reason="deadline passed before the order reached the venue",
            )
        if not self._takes(order, now):
            return VenueOutcome(
                client_order_id=order.client_order_id,
                status=OrderStatus.NOT_FILLED,
                amount_in=0,
                amount_out=0,
                executed_at=now,
                venue_reference=reference,
                reason="quote not taken (simulated auction lost)",
            )
        return VenueOutcome(
            client_order_id=order.client_order_id,
            status=OrderStatus.FILLED,
            amount_in=order.amount_in,
            amount_out=order.amount_out,
            executed_at=now,
            venue_reference=reference,
        )

    def _get(self, client_order_id: str) -> VenueOutcome | None:
        row = self._db.execute(
            "SELECT client_order_id, status, amount_in, amount_out, executed_at,"
            " venue_reference, reason FROM orders WHERE client_order_id = ?",
            (client_order_id,),
        ).fetchone()
        if row is None:
            return None
        return VenueOutcome(
            client_order_id=row[0],
            status=OrderStatus(row[1]),
            amount_in=int(row[2]),
            amount_out=int(row[3]),
            executed_at=datetime.fromisoformat(row[4]),
            venue_reference=row[5],
            reason=row[6],
        )

    def lookup(self, client_order_ids: Iterable[str]) -> dict[str, VenueOutcome]:
        with self._lock:
            found = {cid: self._get(cid) for cid in set(client_order_ids)}
        return {cid: outcome for cid, outcome in found.items() if outcome is not None}

    def stats(self) -> BookStats:
        with self._lock:
            by_status = dict(
                self._db.execute("SELECT status, COUNT(*) FROM orders GROUP BY status").fetchall()
            )
            submissions, duplicates = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(duplicate), 0) FROM submissions"
            ).fetchone()
        return BookStats(
            orders=sum(by_status.values()),
            filled=by_status.get("filled", 0),
            not_filled=by_status.get("not_filled", 0),
            rejected=by_status.get("rejected", 0),
            submissions=submissions,
            duplicate_submissions=duplicates,
        )

    def submissions_per_order(self) -> dict[str, int]:
        """How many times each client order id was submitted (the audit the chaos test reads)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT client_order_id, COUNT(*) FROM submissions GROUP BY client_order_id"
            ).fetchall()
        return {cid: count for cid, count in rows}
