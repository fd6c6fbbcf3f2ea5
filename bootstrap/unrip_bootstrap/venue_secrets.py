"""Every registered venue's secret files, as secret groups beside the platform's.

The venues are found through `unrip.venues.registry` (built-ins and the `unrip.venues` entry
points), so a venue that declares files in its plug-in (`VenuePlugin.secrets`) is validated,
reported and written to its Secret with no edit here. A venue that cannot be loaded, or a
file name two declarations claim, is a problem the preflight lists like a bad secret file.
"""

from __future__ import annotations

from dataclasses import dataclass

from unrip.venues import registry
from unrip.venues.plugin import VenueConfigError

from unrip_bootstrap.secret_groups import PLATFORM_GROUPS, SecretGroup


@dataclass(frozen=True)
class Groups:
    """The platform's groups, then each venue's (venues by name, files as declared)."""

    platform: tuple[SecretGroup, ...]
    venues: tuple[SecretGroup, ...]
    # Why a venue's files could not be known: one line each, never a secret.
    problems: tuple[str, ...] = ()

    @property
    def all(self) -> tuple[SecretGroup, ...]:
        return self.platform + self.venues


def discover() -> Groups:
    """The groups of every venue the registry knows, checked against each other and the
    platform's (one file name, one owner)."""
    owners = {group.filename: "the platform" for group in PLATFORM_GROUPS}
    venues: list[SecretGroup] = []
    problems: list[str] = []
    for name in sorted(registry.available()):
        try:
            plugin = registry.load(name)
        except (VenueConfigError, ImportError) as exc:
            problems.append(f"venue {name}: cannot be loaded to read its secret files ({exc})")
            continue
        for declared in plugin.secrets:
            owner = owners.get(declared.filename)
            if owner is not None:
                problems.append(
                    f"venue {name}: declares {declared.filename}, which {owner} already uses"
                )
                continue
            owners[declared.filename] = f"venue {name}"
            venues.append(
                SecretGroup(
                    key=declared.filename,
                    filename=declared.filename,
                    model=declared.model,
                    required=declared.required,
                    purpose=declared.purpose,
                    declaration=declared,
                )
            )
    return Groups(platform=PLATFORM_GROUPS, venues=tuple(venues), problems=tuple(problems))
