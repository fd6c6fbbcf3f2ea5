"""The apps' Kubernetes Secrets (NEAR relay JWT, solver keys, archive storage), from `.secrets/`.

Created server-side with kubectl, the data on stdin; compared with what is in the cluster
so an unchanged secret is not applied again. Names and keys: `unrip_platform.names`.
"""

from __future__ import annotations

import base64
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
    manifests = [_secret(names.APPS_SECRET_NEAR_INTENTS, values)]
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


class AppSecretsStep:
    name = "app-secrets"
    title = "the apps' Secrets near-intents (relay JWT, solver keys) and archive-storage"

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
