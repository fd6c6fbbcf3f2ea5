"""The step contract: look first (`check`, read-only), then change only what is not converged.

`check` must never change anything: `--plan` and `invoke status` are nothing but checks.
`apply` must be safe to repeat: a rerun after a failure half-way through it converges.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from unrip_bootstrap.context import StepContext


class Status(StrEnum):
    CONVERGED = "converged"  # nothing to do
    PENDING = "pending"  # apply would change something (listed in `changes`)
    BLOCKED = "blocked"  # cannot tell yet: an earlier step has not happened


@dataclass(frozen=True)
class Check:
    status: Status
    detail: str
    changes: tuple[str, ...] = field(default=())

    @classmethod
    def converged(cls, detail: str) -> Check:
        return cls(Status.CONVERGED, detail)

    @classmethod
    def pending(cls, detail: str, changes: tuple[str, ...] = ()) -> Check:
        return cls(Status.PENDING, detail, changes)

    @classmethod
    def blocked(cls, detail: str) -> Check:
        return cls(Status.BLOCKED, detail)


class BlockedError(RuntimeError):
    """A prerequisite from an earlier step is missing (message says which)."""


class StepFailedError(RuntimeError):
    """The step could not converge; the message says why and what to look at."""


class Step(Protocol):
    name: str
    title: str

    def check(self, ctx: StepContext, *, deep: bool) -> Check:
        """The live state. `deep` allows slow read-only probes (a Pulumi preview)."""
        ...

    def apply(self, ctx: StepContext) -> str:
        """Converge; returns a one-line summary of what changed."""
        ...
