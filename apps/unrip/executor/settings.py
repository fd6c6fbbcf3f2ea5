"""The executor's configuration (``UNRIP_EXECUTOR_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from unrip.runtime.settings import CommandSigningSettings
from unrip.strategy.document import DEFAULT_STRATEGY_PATH


class ExecutorSettings(CommandSigningSettings):
    executor_group_id: str = "executor"
    # A venue's name in unrip.venues.registry; the venue reads its own settings.
    executor_venue: str = "paper"
    executor_venue_retry_initial_s: float = Field(default=0.05, gt=0)
    executor_venue_retry_max_s: float = Field(default=2.0, gt=0)
    # A command in flight (executing or submitted) longer than this is overdue: the
    # ExecutorInFlightTooOld alert compares the oldest age with it (docs/runbooks.md). Covers
    # a venue whose outcome comes a minute after submission (NEAR: settle or expire).
    executor_in_flight_max_age_s: float = Field(default=120.0, gt=0)
    # Final ledger summaries kept in memory (~1 KiB each; the default is ~25 MiB of the
    # manifest's 384 Mi); older ones move to a local SQLite file (unrip.executor.ledger_cache).
    executor_ledger_hot_entries: int = Field(default=20_000, ge=1)
    # Where the cold summaries go: by default an anonymous temporary file (the pod's /tmp).
    executor_ledger_spill_path: Path | None = None
    # The in-flight window (executor/window.py): commands sent and awaiting their outcome.
    # Little's law bounds the rate at total / settlement time: 4000 held a venue settling
    # after 2 s to 2,000 commands/s, under the executor's own pace; 12,000 allows 6,000/s
    # (docs/decisions.md, "in-flight window sized by Little's law").
    executor_window_per_partition: int = Field(default=3000, ge=1)
    executor_window_total: int = Field(default=12_000, ge=1)
    # The kill switch: the same strategy source as the reactor (executor/kill_switch.py).
    executor_strategy_file: Path = Field(default=DEFAULT_STRATEGY_PATH)
    executor_strategy_configmap: str | None = None
    executor_strategy_configmap_key: str = "strategy.yaml"
    executor_strategy_configmap_namespace: str | None = None
    executor_strategy_poll_interval_s: float = Field(default=0.25, gt=0, le=1.0)
    # Unreadable ConfigMap for this long: the kill switch is forced on (0: never).
    executor_strategy_max_staleness_s: float = Field(default=30.0, ge=0)
    # On the switch turning on, revoke quotes signed and not yet settled (NEAR:
    # invalidate_nonces). Off: they stay valid until their deadline.
    executor_recall_on_kill_switch: bool = True
