"""NEAR Intents as an execution venue: answer quote requests with signed intents.

An order becomes a ``quote_response`` whose ``signed_data`` is a NEP-413-signed
``token_diff`` (receive ``amount_in`` of ``asset_in``, give ``amount_out`` of ``asset_out``).
The relay's answer only says whether the response entered the auction; whether it *executed*
is announced later on the ``quote_status`` stream (quote_hash, intent_hash, tx_hash). So
``submit`` returns when the outcome is final:

- relay refuses the response (JSON-RPC error, e.g. auction closed)  -> REJECTED
- ``quote_status`` names our quote_hash before the intent expires     -> FILLED, dated from the
  chain (the block of its settlement transaction) when an RPC endpoint is configured
- the intent's deadline (+ grace) passes without that notice: with an RPC endpoint configured
  (``UNRIP_NEAR_INTENTS_RPC_URL``) the chain decides: ``is_nonce_used`` -> FILLED, else
  NOT_FILLED (this also catches notices lost while the relay was disconnected); without one,
  NOT_FILLED
- no answer, the chain unreachable, or (without an RPC endpoint) the status stream interrupted
  while waiting -> VenueUnavailableError (outcome unknown: the executor must reconcile)

``lookup`` answers from this process's outcomes, and for an order whose intent deadline (+
grace) has passed, from the chain: after a restart a real fill is found, not guessed.

Idempotency: the nonce and the whole signed message derive from the order, so a re-sent
response is the same intent; the verifier contract executes a nonce at most once. Within one
process, a client order id already resolved returns its stored outcome (``duplicate=True``).
"""

from __future__ import annotations

import asyncio
import base64
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from unrip.contracts.envelope import utc_now
from unrip.runtime.log_context import bind
from unrip.venues.base import OrderStatus, VenueOrder, VenueOutcome, VenueUnavailableError
from unrip.venues.near_intents import VENUE
from unrip.venues.near_intents.chain import ChainUnavailableError, NearRpc
from unrip.venues.near_intents.frames import event_fields
from unrip.venues.near_intents.quote_response import (
    SignedQuote,
    SolverIdentity,
    build_quote_response,
    intent_deadline,
    quote_nonce,
)
from unrip.venues.near_intents.recall import invalidate_nonces
from unrip.venues.near_intents.relay import (
    Backoff,
    RelayClient,
    RelayRpcError,
    RelayUnavailableError,
)
from unrip.venues.near_intents.settings import MissingCredentialsError, NearIntentsSettings

log = logging.getLogger(__name__)

# Resolved outcomes kept for duplicate submits and lookup (oldest forgotten first).
REMEMBERED_OUTCOMES = 100_000

__all__ = ["VENUE", "MissingCredentialsError", "NearIntentsSettings", "NearIntentsVenue"]


class _Settlement:
    """Waits for one quote_hash on the quote_status stream."""

    __slots__ = ("event", "intent_hash", "received_at", "tx_hash")

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.intent_hash: str | None = None
        self.tx_hash: str | None = None
        self.received_at: datetime | None = None


class NearIntentsVenue:
    """``unrip.venues.base.Venue`` for the live NEAR Intents solver relay."""

    name = VENUE

    def __init__(
        self,
        settings: NearIntentsSettings,
        *,
        relay: RelayClient | None = None,
        chain: NearRpc | None = None,
        now: Callable[[], datetime] = utc_now,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._settings = settings
        self._relay = relay
        self._chain = chain
        if chain is None and settings.rpc_url:
            self._chain = NearRpc(settings.rpc_url, timeout_s=settings.request_timeout_s)
        # Signed quotes awaiting settlement: client order id -> (nonce, intent deadline).
        self._outstanding: dict[str, tuple[bytes, datetime]] = {}
        self.recalled = 0
        # Called with the client order id once the relay accepted a quote (the executor
        # records ``submitted``); outcomes come later.
        self.on_sent: Callable[[str], None] | None = None
        self._recalled_nonces: set[bytes] = set()
        self._now = now
        self._sleep = sleep
        self._identity: SolverIdentity | None = None
        self._listener: asyncio.Task[None] | None = None
        self._settlements: dict[str, _Settlement] = {}
        self._outcomes: dict[str, VenueOutcome] = {}
        self._in_flight: dict[str, asyncio.Task[VenueOutcome]] = {}
        self._closing = asyncio.Event()

    async def start(self) -> None:
        """Refuses (``MissingCredentialsError``) without a solver account and signing key."""
        self._identity = self._settings.solver_identity()
        if self._relay is None:
            self._relay = RelayClient(
                self._settings.relay_url,
                jwt=self._settings.jwt,
                subscriptions=("quote_status",),
                backoff=Backoff(self._settings.reconnect_initial_s, self._settings.reconnect_max_s),
                request_timeout_s=self._settings.request_timeout_s,
            )
        await self._relay.start()
        self._listener = asyncio.create_task(self._listen(self._relay), name="near-intents-status")
        log.info(
            "NEAR Intents venue started for %s (key %s)",
            self._identity.account_id,
            self._identity.signer.public_key,
        )

    async def close(self) -> None:
        """Stops waiting for settlements: pending submits raise ``VenueUnavailableError``."""
        self._closing.set()
        if self._relay is not None:
            await self._relay.close()  # fails requests still waiting for an answer
        await asyncio.gather(*self._in_flight.values(), return_exceptions=True)
        if self._listener is not None:
            await asyncio.gather(self._listener, return_exceptions=True)
            self._listener = None
        if self._chain is not None:
            await self._chain.close()

    @property
    def ready(self) -> bool:
        """Connected and subscribed to quote_status: only then can a fill be observed."""
        return self._relay is not None and self._relay.connected

    async def wait_ready(self, timeout_s: float | None = None) -> None:
        relay, _ = self._running()
        await relay.wait_connected(timeout_s)

    # --- Venue ---------------------------------------------------------------------------

    async def submit(self, orders: Sequence[VenueOrder]) -> list[VenueOutcome]:
        """One outcome per order, in order; orders are answered concurrently.

        If any order's outcome is unknown, ``VenueUnavailableError`` is raised once all are
        done; the outcomes that are known stay available through ``lookup``.
        """
        results = await asyncio.gather(
            *(self._submit_once(o) for o in orders), return_exceptions=True
        )
        outcomes: list[VenueOutcome] = []
        for result in results:
            if isinstance(result, BaseException):
                raise result
            outcomes.append(result)
        return outcomes

    async def lookup(self, orders: Sequence[VenueOrder]) -> Mapping[str, VenueOutcome]:
        """Outcomes this process resolved, and from the chain those of orders whose intent
        deadline (+ grace) has passed. The relay keeps no queryable history, so without an RPC
        endpoint an order submitted by an earlier process is absent."""
        found: dict[str, VenueOutcome] = {}
        for order in orders:
            known = self._outcomes.get(order.client_order_id)
            if known is not None:
                found[order.client_order_id] = known
            elif self._chain is not None and self._settled_on_chain_by(order) <= self._now():
                found[order.client_order_id] = await self._from_chain(order)
        return found

    async def recall(self) -> int:
        """Invalidate the nonces of every quote still awaiting settlement (kill switch).

        Returns how many were revoked; a quote already executed stays executed. Needs an RPC
        endpoint; ``ChainUnavailableError`` if the transaction could not be sent.
        """
        if self._chain is None:
            log.error("recall requested but no RPC endpoint is configured; quotes stay valid")
            return 0
        _, identity = self._running()
        now = self._now()
        nonces = [nonce for nonce, deadline in self._outstanding.values() if deadline > now]
        if nonces:
            hashes = await invalidate_nonces(self._chain, identity, nonces)
            self._recalled_nonces.update(nonces)
            log.warning(
                "recalled %d outstanding quotes (transactions %s)", len(nonces), ", ".join(hashes)
            )
        self.recalled += len(nonces)
        return len(nonces)

    @property
    def outstanding(self) -> int:
        """Signed quotes awaiting settlement."""
        return len(self._outstanding)

    def settles_by(self, order: VenueOrder) -> datetime:
        """From when ``lookup``'s silence about ``order`` is conclusive (never executed)."""
        return self._settled_on_chain_by(order)

    def _settled_on_chain_by(self, order: VenueOrder) -> datetime:
        if order.quote_validity_ms > self._settings.max_quote_validity_ms:
            return datetime.max.replace(tzinfo=order.deadline.tzinfo)  # never signed
        grace = timedelta(milliseconds=self._settings.settle_grace_ms)
        return intent_deadline(order) + grace

    async def _from_chain(self, order: VenueOrder) -> VenueOutcome:
        # After the deadline the nonce can no longer change: used means executed (or recalled,
        # which this venue cannot tell apart after a restart; docs/venues/near-intents.md).
        assert self._chain is not None
        _, identity = self._running()
        nonce = quote_nonce(order, identity)
        used = await self._chain.is_nonce_used(
            identity.verifier_contract, identity.account_id, nonce
        )
        # Dated at the intent deadline: every process that resolves this order from the chain
        # (a paused one and its successor alike) reports the same outcome, hence the same result.
        deadline = intent_deadline(order)
        if not used:
            return self._outcome(
                order,
                OrderStatus.NOT_FILLED,
                reason="nonce unused on chain after its deadline",
                at=deadline,
            )
        if nonce in self._recalled_nonces:
            # Used because we invalidated it; a fill just before the recall landed would have
            # been announced on quote_status (docs/venues/near-intents.md, "Recall").
            return self._outcome(
                order,
                OrderStatus.NOT_FILLED,
                reason="recalled (kill switch): nonce invalidated",
                at=deadline,
            )
        return VenueOutcome(
            client_order_id=order.client_order_id,
            status=OrderStatus.FILLED,
            amount_in=order.amount_in,
            amount_out=order.amount_out,
            executed_at=deadline,
            venue_reference=f"nonce:{base64.b64encode(nonce).decode()}",
        )

    # --- one order -----------------------------------------------------------------------

    async def _submit_once(self, order: VenueOrder) -> VenueOutcome:
        key = order.client_order_id
        known = self._outcomes.get(key)
        if known is not None:
            return replace(known, duplicate=True)
        running = self._in_flight.get(key)
        if running is not None:
            return replace(await self._await(running), duplicate=True)
        with bind(command_id=order.command_id):  # the task keeps it: its lines name the command
            task = asyncio.ensure_future(self._submit(order))
        self._in_flight[key] = task
        task.add_done_callback(lambda done: self._finished(key, done))
        return await self._await(task)

    @staticmethod
    async def _await(task: asyncio.Task[VenueOutcome]) -> VenueOutcome:
        # Shielded: a cancelled caller must not abandon an answered quote's outcome.
        return await asyncio.shield(task)

    def _finished(self, key: str, task: asyncio.Task[VenueOutcome]) -> None:
        self._in_flight.pop(key, None)
        if not task.cancelled() and task.exception() is None:
            self._outcomes[key] = task.result()
            if len(self._outcomes) > REMEMBERED_OUTCOMES:
                del self._outcomes[next(iter(self._outcomes))]

    async def _submit(self, order: VenueOrder) -> VenueOutcome:
        relay, identity = self._running()
        if self._now() >= order.deadline:
            return self._outcome(
                order, OrderStatus.REJECTED, reason="deadline passed before sending"
            )
        if order.quote_validity_ms > self._settings.max_quote_validity_ms:
            return self._outcome(
                order,
                OrderStatus.REJECTED,
                reason=f"quote validity {order.quote_validity_ms} ms above the "
                f"{self._settings.max_quote_validity_ms} ms maximum; not signed",
            )
        if not relay.connected:
            raise VenueUnavailableError(f"quote {order.quote_id}: relay not connected; not sent")
        signed = build_quote_response(order, identity)
        settlement = self._settlements.setdefault(signed.quote_hash, _Settlement())
        self._outstanding[order.client_order_id] = (signed.payload.nonce, signed.intent_deadline)
        try:
            return await self._answer(order, relay, signed, settlement)
        finally:
            self._outstanding.pop(order.client_order_id, None)

    async def _answer(
        self, order: VenueOrder, relay: RelayClient, signed: SignedQuote, settlement: _Settlement
    ) -> VenueOutcome:
        epoch = relay.connections
        try:
            result = await relay.request("quote_response", [signed.params])
        except RelayRpcError as exc:
            self._settlements.pop(signed.quote_hash, None)
            return self._outcome(order, OrderStatus.REJECTED, reason=f"relay: {exc.message}")
        except RelayUnavailableError as exc:
            if self._chain is None:
                raise VenueUnavailableError(
                    f"quote {order.quote_id}: {exc}; outcome unknown"
                ) from None
            # It may have reached the auction: never send it again; the chain decides after
            # the deadline (a resend would be a second answer to the same quote).
            result = "OK"
        if result != "OK":
            self._settlements.pop(signed.quote_hash, None)
            return self._outcome(order, OrderStatus.REJECTED, reason=f"relay answered {result!r}")
        if self.on_sent is not None:
            self.on_sent(order.client_order_id)
        wait_until = signed.intent_deadline + timedelta(milliseconds=self._settings.settle_grace_ms)
        try:
            await self._wait(settlement, wait_until)
        finally:
            self._settlements.pop(signed.quote_hash, None)
        if self._closing.is_set() and not settlement.event.is_set():
            raise VenueUnavailableError(
                f"quote {order.quote_id}: venue closed while waiting; outcome unknown"
            )
        if settlement.event.is_set():
            log.info(
                "quote %s executed: intent %s, tx %s",
                order.quote_id,
                settlement.intent_hash,
                settlement.tx_hash,
            )
            return VenueOutcome(
                client_order_id=order.client_order_id,
                status=OrderStatus.FILLED,
                amount_in=order.amount_in,
                amount_out=order.amount_out,
                executed_at=await self._executed_at(order, settlement),
                venue_reference=settlement.intent_hash,
            )
        if self._chain is not None:
            # The chain is the record: it also catches notices lost during a disconnect.
            return await self._from_chain(order)
        if relay.connections != epoch or not relay.connected:
            # quote_status notices sent while we were disconnected are lost.
            raise VenueUnavailableError(
                f"quote {order.quote_id}: status stream interrupted while waiting; outcome unknown"
            )
        return self._outcome(
            order, OrderStatus.NOT_FILLED, reason="not executed before the intent deadline"
        )

    async def _executed_at(self, order: VenueOrder, settlement: _Settlement) -> datetime:
        """When the fill happened, from the chain: the block in which the verifier executed
        the settlement transaction ``quote_status`` named. The notice itself carries no time;
        its arrival is only the fallback (no RPC endpoint, no tx hash, or no answer), since
        the fill is certain and only its date is in question."""
        arrived = settlement.received_at or self._now()
        if self._chain is None or not settlement.tx_hash:
            return arrived
        _, identity = self._running()
        sender = self._settings.settlement_signer_id or identity.verifier_contract
        try:
            return await self._chain.execution_time(
                settlement.tx_hash, sender, identity.verifier_contract
            )
        except ChainUnavailableError as exc:
            log.warning(
                "quote %s: fill dated at its notice's arrival; the chain did not date tx %s: %s",
                order.quote_id,
                settlement.tx_hash,
                exc,
            )
            return arrived

    async def _wait(self, settlement: _Settlement, until: datetime) -> None:
        remaining = (until - self._now()).total_seconds()
        if remaining <= 0:
            return
        waiters = {
            asyncio.ensure_future(settlement.event.wait()),
            asyncio.ensure_future(self._closing.wait()),
            asyncio.ensure_future(self._sleep(remaining)),
        }
        try:
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    def _outcome(
        self, order: VenueOrder, status: OrderStatus, *, reason: str, at: datetime | None = None
    ) -> VenueOutcome:
        return VenueOutcome(
            client_order_id=order.client_order_id,
            status=status,
            amount_in=0,
            amount_out=0,
            executed_at=at or self._now(),
            reason=reason,
        )

    def _running(self) -> tuple[RelayClient, SolverIdentity]:
        if self._relay is None or self._identity is None:
            raise RuntimeError("NearIntentsVenue.start() was not called")
        return self._relay, self._identity

    # --- quote_status --------------------------------------------------------------------

    async def _listen(self, relay: RelayClient) -> None:
        async for message in relay:
            try:
                self._on_frame(message.text, message.received_at)
            except Exception:
                # A listener that died would turn every later fill into NOT_FILLED.
                log.exception("could not process a relay frame; continuing")

    def _on_frame(self, text: str, received_at: datetime) -> None:
        status = _quote_status(text)
        if status is None:
            return
        settlement = self._settlements.get(status["quote_hash"])
        if settlement is None:
            return  # another solver's quote, or one we stopped waiting for
        settlement.intent_hash = status.get("intent_hash")
        settlement.tx_hash = status.get("tx_hash")
        settlement.received_at = received_at
        settlement.event.set()


def _quote_status(text: str) -> dict[str, Any] | None:
    """The data of a quote_status notice (either event form), else None."""
    fields = event_fields(text) if "quote_hash" in text else None
    if fields is None or not isinstance(fields.get("quote_hash"), str):
        return None
    return {k: v for k, v in fields.items() if isinstance(v, str)}
