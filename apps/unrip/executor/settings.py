"""The executor's configuration (``UNRIP_EXECUTOR_*``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from unrip.runtime.settings import ServiceSettings
from unrip.strategy.document import DEFAULT_STRATEGY_PATH


class ExecutorSettings(ServiceSettings):
    executor_group_id: str = "executor"
    # A venue's name in unrip.venues.registry; the venue reads its own settings.
    executor_venue: str = "paper"
    executor_venue_retry_initial_s: float = Field(default=0.05, gt=0)
    executor_venue_retry_max_s: float = Field(default=2.0, gt=0)
    # The in-flight window (executor/window.py): commands sent and awaiting their outcome.
    executor_window_per_partition: int = Field(default=1000, ge=1)
    executor_window_total: int = Field(default=4000, ge=1)
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
