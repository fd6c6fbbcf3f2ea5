"""A venue plug-in: everything the services need from one venue, behind one name.

A venue lives in one folder (``unrip/venues/<name>/`` for the built-in ones, any importable
package for others) whose ``plugin`` module defines ``PLUGIN``. The ingest hosts its streams
by name, the executor builds its execution adapter through ``execution``, and decoders learn
its raw schemas from ``schemas``, and the workstation bootstrap validates and writes the
operator's secret files it declares in ``secrets``; ``unrip.venues.registry`` finds plug-ins
by name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from pydantic_settings import BaseSettings

from unrip.contracts.envelope import Payload
from unrip.venues.base import Venue
from unrip.venues.secrets import SecretFile
from unrip.venues.sources import Stream


class VenueConfigError(ValueError):
    """The venue cannot be built as configured; names the settings, never their values."""


@dataclass(frozen=True, slots=True, kw_only=True)
class VenuePlugin:
    name: str
    streams: Mapping[str, Stream] = field(default_factory=dict)
    # The stream hosted when none is named (a venue with several streams names its main one).
    default_stream: str | None = None
    # Builds the execution adapter from the venue's own settings; raises VenueConfigError.
    execution: Callable[[], Venue] | None = None
    # Raw payload schemas this venue publishes (registered with the codec when loaded).
    schemas: tuple[type[Payload], ...] = ()
    # Settings classes whose environment variables configure the venue (docs, manifest checks).
    settings: tuple[type[BaseSettings], ...] = ()
    # The operator's secret files for this venue and the Secret keys they fill (the bootstrap).
    secrets: tuple[SecretFile, ...] = ()

    def stream(self, name: str | None = None) -> Stream:
        """The named stream, or the venue's only one; ``VenueConfigError`` names the choices."""
        if name is None and len(self.streams) == 1:
            return next(iter(self.streams.values()))
        name = self.default_stream if name is None else name
        if name is not None and name in self.streams:
            return self.streams[name]
        choices = ", ".join(sorted(self.streams)) or "none"
        raise VenueConfigError(
            f"venue {self.name!r} has no stream {name!r} (streams: {choices})"
            if name is not None
            else f"venue {self.name!r} has several streams; choose one of: {choices}"
        )

    def build_execution(self) -> Venue:
        if self.execution is None:
            raise VenueConfigError(f"venue {self.name!r} has no execution adapter")
        return self.execution()
