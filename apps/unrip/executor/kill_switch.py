"""The kill switch, enforced where quotes are signed: the executor reads the reactor's strategy.

The reactor stops emitting commands when the switch is on, but commands already on
``cmd.execute_trade`` (or forged ones) would still be signed. So the executor reads the same
strategy source (the file locally, the ConfigMap in the cluster, fail-closed when it cannot be
read for ``max_staleness_s``) and, while the switch is on, records every command it would send
as failed with reason ``kill_switch`` instead. ``watch`` polls the source on its own (every
``poll_interval_s``, default 0.25 s), so the switch applies within a second even while a batch
waits on the venue; when the switch turns on it asks the venue to recall the quotes it has
signed and not yet seen settle (``Recallable``, NEAR: ``invalidate_nonces``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from typing import Protocol, runtime_checkable

from unrip.contracts import TradeStatus
from unrip.executor.metrics import KILL_SWITCH, RECALLED
from unrip.executor.plan import BatchPlan, Planner
from unrip.executor.settings import ExecutorSettings
from unrip.runtime.service import sleep_unless_stopped
from unrip.strategy.configmap import (
    InClusterConfigMapReader,
    StrategyConfigMap,
    service_account_namespace,
)
from unrip.strategy.document import Strategy, StrategyFile
from unrip.venues.base import Venue, VenueUnavailableError

log = logging.getLogger(__name__)

REASON = "kill_switch"


class StrategySource(Protocol):
    @property
    def current(self) -> Strategy: ...

    def refresh(self, now: float | None = None) -> bool: ...


@runtime_checkable
class Recallable(Protocol):
    """A venue that can revoke quotes it signed (optional beside ``Venue``)."""

    async def recall(self) -> int: ...


class KillSwitch:
    """Whether to sign at all, from the strategy source; recalls on the off -> on edge."""

    def __init__(
        self,
        source: StrategySource,
        venue: Venue,
        *,
        poll_interval_s: float,
        recall_on_engage: bool,
        configmap: StrategyConfigMap | None = None,
    ) -> None:
        self._source = source
        self._venue = venue
        self._poll_interval_s = poll_interval_s
        self._recall_on_engage = recall_on_engage
        self._configmap = configmap
        self.engaged = source.current.limits.kill_switch
        self.recalls = 0

    def check(self) -> bool:
        """Re-read the source (at most once per its poll interval); True while engaged."""
        self._source.refresh()
        engaged = self._source.current.limits.kill_switch
        if engaged != self.engaged:
            log.warning("kill switch %s", "engaged: signing stopped" if engaged else "released")
        self.engaged = engaged
        KILL_SWITCH.set(1 if engaged else 0)
        return engaged

    async def watch(self, stop: asyncio.Event) -> None:
        """Poll the source until stopped; recall outstanding quotes when the switch engages."""
        while not stop.is_set():
            if self._configmap is not None:
                await self._configmap.poll_once()
            was = self.engaged
            if self.check() and not was and self._recall_on_engage:
                await self._recall()
            await sleep_unless_stopped(stop, self._poll_interval_s)

    async def _recall(self) -> None:
        if not isinstance(self._venue, Recallable):
            log.warning("venue %s cannot recall quotes; they stay valid", self._venue.name)
            return
        try:
            revoked = await self._venue.recall()
        except VenueUnavailableError as exc:
            log.error("recall failed: signed quotes stay valid", extra={"error": str(exc)})
            return
        self.recalls += 1
        RECALLED.inc(revoked)
        log.warning("recalled outstanding quotes", extra={"revoked": revoked})


def refuse_all(planner: Planner, plan: BatchPlan, now: datetime) -> int:
    """Record every command the plan would send as failed (``kill_switch``); how many."""
    refused = plan.to_execute
    plan.to_execute = []
    for item in refused:
        planner.fail(plan, item.partition, item.entry, TradeStatus.REJECTED, REASON, now)
    return len(refused)


async def start_kill_switch(
    settings: ExecutorSettings,
    venue: Venue,
    stop: asyncio.Event,
    stack: contextlib.AsyncExitStack,
) -> KillSwitch:
    """Read the strategy source once (an unreadable ConfigMap stops the start) and watch it."""
    s = settings
    configmap: StrategyConfigMap | None = None
    source: StrategySource
    if s.executor_strategy_configmap:
        configmap = StrategyConfigMap(
            InClusterConfigMapReader(),
            s.executor_strategy_configmap_namespace or service_account_namespace(),
            s.executor_strategy_configmap,
            s.executor_strategy_configmap_key,
            poll_interval_s=s.executor_strategy_poll_interval_s,
            max_staleness_s=s.executor_strategy_max_staleness_s,
        )
        await configmap.start()
        stack.push_async_callback(configmap.reader.aclose)
        source = configmap
    else:
        source = StrategyFile(
            s.executor_strategy_file, poll_interval_s=s.executor_strategy_poll_interval_s
        )
    kill_switch = KillSwitch(
        source,
        venue,
        poll_interval_s=s.executor_strategy_poll_interval_s,
        recall_on_engage=s.executor_recall_on_kill_switch,
        configmap=configmap,
    )
    watcher = asyncio.create_task(kill_switch.watch(stop), name="kill-switch")

    async def stop_watching() -> None:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher

    stack.push_async_callback(stop_watching)
    return kill_switch
