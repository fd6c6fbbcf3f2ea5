"""The apps' Kubernetes Secrets: each venue's and the archive's object storage from `.secrets/`,
and the reactor's and executor's command MAC key, generated here.

A venue's Secrets come from the files its plug-in declares (`VenuePlugin.secrets`: Secret name
and key per field, e.g. NEAR's `near-intents` with `jwt` and the optional solver keys), so a
new venue needs no edit here. Created server-side with kubectl, the data on stdin; compared
with what is in the cluster so an unchanged secret is not applied again. The platform's
names and keys: `unrip_platform.names`.

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


def venue_secret_values(secrets: Secrets) -> dict[str, dict[str, str]]:
    """Secret name -> key -> value from the venues' files the operator supplied: Secrets in
    the order first declared, keys in declaration order (NEAR: `near-intents` with `jwt`, then
    `solver_account_id` and `signing_key` when venue-keys.yaml is there). A Secret none of
    whose files was supplied is not written."""
    values: dict[str, dict[str, str]] = {}
    for declared, model in secrets.venue_files:
        values.setdefault(declared.secret, {}).update(declared.secret_data(model))
    return values


def app_secret_manifests(secrets: Secrets) -> list[dict[str, Any]]:
    """Each venue's Secrets, then `archive-storage` when the operator supplied it."""
    manifests = [_secret(name, data) for name, data in venue_secret_values(secrets).items()]
    archive = secrets.archive_storage
    if archive is not None:
        # Secret `archive-storage`: the archiver's bucket and credentials (docs/archive.md).
        storage = {
            "uri": archive.uri,
            "endpoint": archive.endpoint,
            "region": archive.region,
            "access_key": archive.access_key.get_secret_value(),
            "secret_key": archive.secret_key.get_secret_value(),
        }
        manifests.append(_secret(names.APPS_SECRET_ARCHIVE_STORAGE, storage))
    return manifests


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
    title = "the apps' Secrets: each venue's, command-signing and archive-storage"

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
