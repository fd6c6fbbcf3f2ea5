"""Every registered venue's secret files, as secret groups beside the platform's.

The venues are found through `unrip.venues.registry` (built-ins and the `unrip.venues` entry
points), so a venue that declares files in its plug-in (`VenuePlugin.secrets`) is validated,
reported and written to its Secret with no edit here. A venue that cannot be loaded, a file
name two declarations claim, or a Secret another venue or the platform writes, is a problem
the preflight lists like a bad secret file.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from unrip.venues import registry
from unrip.venues.plugin import VenueConfigError
from unrip.venues.secrets import SecretFile
from unrip_platform import names

from unrip_bootstrap.secret_groups import PLATFORM_GROUPS, SecretGroup

# Secrets in the apps namespace written by the bootstrap itself or the cluster project (and
# every `bus-<service>`): a venue's declaration must not overwrite one.
_PLATFORM_SECRETS: Final = (names.APPS_SECRET_COMMAND_SIGNING, names.APPS_SECRET_ARCHIVE_STORAGE)


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
    platform's: one owner per file name and per Secret in the apps namespace."""
    files = {group.filename: "the platform" for group in PLATFORM_GROUPS}
    secrets = dict.fromkeys(_PLATFORM_SECRETS, "the platform")
    venues: list[SecretGroup] = []
    problems: list[str] = []
    for name in sorted(registry.available()):
        try:
            plugin = registry.load(name)
        except (VenueConfigError, ImportError) as exc:
            problems.append(f"venue {name}: cannot be loaded to read its secret files ({exc})")
            continue
        venue = f"venue {name}"
        for declared in plugin.secrets:
            clash = _clash(venue, declared, files, secrets)
            if clash is not None:
                problems.append(clash)
                continue
            files[declared.filename] = secrets[declared.secret] = venue
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


def _clash(
    venue: str, declared: SecretFile, files: dict[str, str], secrets: dict[str, str]
) -> str | None:
    # One owner per file name and per Secret: a venue never overwrites another's or the platform's.
    user = files.get(declared.filename)
    if user is not None:
        return f"{venue}: declares {declared.filename}, which {user} already uses"
    if declared.secret.startswith(names.BUS_SECRET_PREFIX):
        writer = "the platform"
    else:
        writer = secrets.get(declared.secret, venue)
    if writer != venue:
        return f"{venue}: {declared.filename} fills Secret {declared.secret}, which {writer} writes"
    return None
