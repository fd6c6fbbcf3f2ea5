"""The generated secrets the platform's manifests carry.

Pulumi fills them with random, secret Outputs (``components``); offline rendering fills them with
placeholders, so schema and policy checks see the same manifests without any real value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from unrip_platform.cluster.bus_acls import PRINCIPALS


@dataclass(frozen=True)
class PlatformSecrets:
    """Values are ``str`` when rendered offline and ``pulumi.Output[str]`` under Pulumi."""

    forgejo_admin_password: Any
    forgejo_secret_key: Any
    forgejo_internal_token: Any
    forgejo_jwt_secret: Any
    # 40 hex characters: the runner's uuid (first 16) and token, registered on both sides.
    runner_secret: Any
    # Redpanda's superuser (creates users and ACLs; no service connects as it).
    bus_superuser_password: Any = "placeholder-bus-superuser"  # noqa: S105
    # One SCRAM password per bus principal (bus_acls.PRINCIPALS), by service name.
    bus_passwords: Mapping[str, Any] = field(
        default_factory=lambda: {p.service: f"placeholder-bus-{p.service}" for p in PRINCIPALS}
    )


PLACEHOLDERS = PlatformSecrets(
    forgejo_admin_password="placeholder-admin-password",  # noqa: S106
    forgejo_secret_key="placeholder-secret-key",  # noqa: S106
    forgejo_internal_token="placeholder-internal-token",  # noqa: S106
    forgejo_jwt_secret="placeholder-jwt-secret",  # noqa: S106
    runner_secret="0" * 40,
)
