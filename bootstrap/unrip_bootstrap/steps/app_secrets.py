"""The apps' Kubernetes Secrets: the NEAR relay JWT and solver keys from `.secrets/`, and the
reactor's and executor's command MAC key, generated here.

Created server-side with kubectl, the data on stdin; compared with what is in the cluster
so an unchanged secret is not applied again. Names and keys: `unrip_platform.names`.

The command key (`command-signing`) comes from no operator file: a random 32-byte key is
written when the Secret is missing or its key too short, and never replaced otherwise (a
new key would dead-letter the commands in flight). To rotate it: delete the Secret, rerun
`invoke bootstrap --from app-secrets`, restart the reactor and the executor.
"""

from __future__ import annotations

import base64
import secrets as random
from typing import Any

from unrip_platform import names

from unrip_bootstrap.context import StepContext
from unrip_bootstrap.secret_files import Secrets
from unrip_bootstrap.steps.base import BlockedError, Check

MANAGED_BY = {"app.kubernetes.io/managed-by": "unrip-bootstrap"}


def _secret(name: str, values: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": names.NAMESPACE_APPS, "labels": MANAGED_BY},
        "type": "Opaque",
        "data": {key: base64.b64encode(value.encode()).decode() for key, value in values.items()},
    }


def app_secret_manifests(secrets: Secrets) -> list[dict[str, Any]]:
    """Secret `near-intents`: the relay JWT the ingest reads, plus the solver's account and
    signing key when the operator supplied venue keys (for a live executor)."""
    values = {names.APPS_SECRET_NEAR_INTENTS_JWT_KEY: secrets.near_relay.jwt.get_secret_value()}
    if secrets.venue_keys is not None:
        values[names.APPS_SECRET_NEAR_INTENTS_SOLVER_ACCOUNT_KEY] = (
            secrets.venue_keys.solver_account_id
        )
        values[names.APPS_SECRET_NEAR_INTENTS_SIGNING_KEY_KEY] = (
            secrets.venue_keys.signing_key.get_secret_value()
        )
    return [_secret(names.APPS_SECRET_NEAR_INTENTS, values)]


COMMAND_KEY_BYTES = 32


def command_signing_manifest() -> dict[str, Any]:
    """A fresh random command MAC key (hex: printable, and 64 bytes as the service reads it)."""
    key = random.token_hex(COMMAND_KEY_BYTES)
    return _secret(names.APPS_SECRET_COMMAND_SIGNING, {names.APPS_SECRET_COMMAND_SIGNING_KEY: key})


def command_key_usable(live: dict[str, Any] | None) -> bool:
    data = (live or {}).get("data") or {}
    encoded = data.get(names.APPS_SECRET_COMMAND_SIGNING_KEY)
    return encoded is not None and len(base64.b64decode(encoded)) >= COMMAND_KEY_BYTES


class AppSecretsStep:
    name = "app-secrets"
    title = "the apps' Secrets near-intents (relay JWT, solver keys) and command-signing"

    def _outdated(self, ctx: StepContext) -> list[dict[str, Any]]:
        kube = ctx.kube()
        if kube.get("namespace", "", names.NAMESPACE_APPS) is None:
            raise BlockedError(
                f"namespace {names.NAMESPACE_APPS} does not exist yet (cluster step)"
            )
        outdated = []
        for manifest in app_secret_manifests(ctx.secrets):
            live = kube.get("secret", names.NAMESPACE_APPS, manifest["metadata"]["name"])
            for value in ((live or {}).get("data") or {}).values():
                ctx.secret(base64.b64decode(value).decode(errors="replace"))
            if live is None or live.get("data") != manifest["data"]:
                outdated.append(manifest)
        live = kube.get("secret", names.NAMESPACE_APPS, names.APPS_SECRET_COMMAND_SIGNING)
        for value in ((live or {}).get("data") or {}).values():
            ctx.secret(base64.b64decode(value).decode(errors="replace"))
        if not command_key_usable(live):
            manifest = command_signing_manifest()
            ctx.secret(
                base64.b64decode(manifest["data"][names.APPS_SECRET_COMMAND_SIGNING_KEY]).decode()
            )
            outdated.append(manifest)
        return outdated

    def check(self, ctx: StepContext, *, deep: bool) -> Check:
        outdated = self._outdated(ctx)
        if outdated:
            return Check.pending(
                "Secrets to write",
                tuple(
                    f"write secret {names.NAMESPACE_APPS}/{m['metadata']['name']}" for m in outdated
                ),
            )
        return Check.converged("the apps' Secrets match .secrets/")

    def apply(self, ctx: StepContext) -> str:
        outdated = self._outdated(ctx)
        kube = ctx.kube()
        for manifest in outdated:
            kube.apply(manifest)
        written = ", ".join(m["metadata"]["name"] for m in outdated) or "nothing"
        return f"wrote {written} in {names.NAMESPACE_APPS}"
