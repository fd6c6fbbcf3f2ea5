"""The executor's Prometheus metrics (one place, shared by the planner and the service)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

OUTCOMES = Counter("unrip_executor_outcomes_total", "Commands brought to a final state", ["status"])
EXECUTED = Counter("unrip_executor_executed_total", "Orders the venue executed for us (first time)")
DUPLICATES = Counter(
    "unrip_executor_duplicates_suppressed_total", "Duplicate commands answered from the ledger"
)
RECONCILED = Counter(
    "unrip_executor_reconciled_total", "Executing entries resolved from the venue after a crash"
)
FENCED = Counter(
    "unrip_executor_venue_fenced_total", "Submissions the venue recognised as already executed"
)
VENUE_UNAVAILABLE = Counter("unrip_executor_venue_unavailable_total", "Venue calls with no answer")
KILL_SWITCH = Gauge("unrip_executor_kill_switch", "1 while the executor refuses to sign")
RECALLED = Counter(
    "unrip_executor_recalled_quotes_total", "Signed quotes revoked when the kill switch engaged"
)
IN_FLIGHT = Gauge("unrip_executor_in_flight", "Commands between 'executing' and their result")
OLDEST_IN_FLIGHT = Gauge(
    "unrip_executor_oldest_in_flight_seconds",
    "Age of the oldest command in 'executing' or 'submitted' (0 when none)",
)
IN_FLIGHT_MAX_AGE = Gauge(
    "unrip_executor_in_flight_max_age_seconds",
    "The executor's bound on that age (past it the command is overdue)",
)
