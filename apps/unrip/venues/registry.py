"""The one map from a venue name to its plug-in.

Built-in venues are listed here; any installed distribution can add one through the
``unrip.venues`` entry-point group (``name = package.plugin:PLUGIN``), so a new venue needs
no edit outside its own folder and its configuration. Plug-ins are imported only when asked
for, so a process loads only the venues it uses.
"""

from __future__ import annotations

import importlib
from functools import cache
from importlib.metadata import entry_points
from typing import Final

from unrip.contracts.codec import register
from unrip.venues.plugin import VenueConfigError, VenuePlugin

ENTRY_POINT_GROUP: Final = "unrip.venues"
BUILTIN: Final[dict[str, str]] = {
    "near_intents": "unrip.venues.near_intents.plugin:PLUGIN",
    "paper": "unrip.venues.paper.plugin:PLUGIN",
}


class UnknownVenueError(VenueConfigError):
    """No plug-in of that name; names the venues that exist."""


def available() -> dict[str, str]:
    """Venue name -> ``module:attribute`` of its plug-in, built-ins first."""
    found = dict(BUILTIN)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        found.setdefault(entry.name, entry.value)
    return found


@cache
def load(name: str) -> VenuePlugin:
    """The plug-in called ``name``, its raw schemas registered with the codec."""
    target = available().get(name)
    if target is None:
        known = ", ".join(sorted(available()))
        raise UnknownVenueError(f"no venue called {name!r} (venues: {known})")
    module_name, _, attribute = target.partition(":")
    plugin = getattr(importlib.import_module(module_name), attribute or "PLUGIN")
    if not isinstance(plugin, VenuePlugin) or plugin.name != name:
        raise VenueConfigError(f"{target} is not the VenuePlugin of venue {name!r}")
    register(*plugin.schemas)
    return plugin


def load_all() -> list[VenuePlugin]:
    """Every venue's plug-in (readers of every raw topic need every raw schema)."""
    return [load(name) for name in sorted(available())]
