"""A valid stack config to start from, in the shape the Pulumi engine hands it over."""

from __future__ import annotations

import json
from typing import Any

OPERATOR_KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAILNcLImUDnVwjW4lPgnD6kq1JJod3pWUUzeOr9A8Hz+R op@laptop"
)
SECOND_KEY = (
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g op@desk"
)
STACK = "test"
INSTALLER_SHA256 = "ab" * 32


def raw_config(**overrides: Any) -> dict[str, Any]:
    """Config values as the engine hands them over: strings, lists as JSON text."""
    values: dict[str, Any] = {
        "sshPublicKeys": json.dumps([OPERATOR_KEY]),
        "operatorCidrs": json.dumps(["198.51.100.7/32"]),
        "k3sInstallScriptSha256": INSTALLER_SHA256,
    }
    for key, value in overrides.items():
        if value is None:
            values.pop(key, None)
        elif isinstance(value, list):
            values[key] = json.dumps(value)
        elif isinstance(value, bool):
            values[key] = "true" if value else "false"
        else:
            values[key] = str(value)
    return values
