"""The generated secrets the platform's manifests carry.

Pulumi fills them with random, secret Outputs (``components``); offline rendering fills them with
placeholders, so schema and policy checks see the same manifests without any real value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PlatformSecrets:
    """Values are ``str`` when rendered offline and ``pulumi.Output[str]`` under Pulumi."""

    forgejo_admin_password: Any
    forgejo_secret_key: Any
    forgejo_internal_token: Any
    forgejo_jwt_secret: Any
    # 40 hex characters: the runner's uuid (first 16) and token, registered on both sides.
    runner_secret: Any


PLACEHOLDERS = PlatformSecrets(
    forgejo_admin_password="placeholder-admin-password",  # noqa: S106
    forgejo_secret_key="placeholder-secret-key",  # noqa: S106
    forgejo_internal_token="placeholder-internal-token",  # noqa: S106
    forgejo_jwt_secret="placeholder-jwt-secret",  # noqa: S106
    runner_secret="0" * 40,
)
