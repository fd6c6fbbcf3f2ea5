"""Strict Kubernetes schema validation (kubernetes-validate), for the version k3s runs.

Strict schemas reject unknown fields, so a misspelt key fails here rather than being dropped
silently by the API server. Kinds without a bundled schema (CRDs) are an error unless the caller
names them in ``known_custom_kinds``: a CRD must be a decision, not an accident.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import kubernetes_validate

from unrip_platform.names import KUBERNETES_MINOR

# The Kubernetes minor of the k3s release the Hetzner project installs (keep the two in step).
KUBERNETES_VERSION: Final = KUBERNETES_MINOR  # what the Hetzner project installs


@dataclass(frozen=True, slots=True)
class SchemaProblem:
    """One manifest that does not validate, and why."""

    manifest: str
    message: str

    def __str__(self) -> str:
        return f"{self.manifest}: {self.message}"


def describe(manifest: Mapping[str, Any]) -> str:
    meta = manifest.get("metadata") or {}
    where = f"{meta['namespace']}/" if meta.get("namespace") else ""
    return f"{manifest.get('kind', '?')} {where}{meta.get('name', '?')}"


def validate_manifests(
    manifests: Iterable[Mapping[str, Any]],
    *,
    version: str = KUBERNETES_VERSION,
    known_custom_kinds: Collection[tuple[str, str]] = (),
) -> list[SchemaProblem]:
    """Every problem found (empty when all manifests are valid).

    ``known_custom_kinds`` holds ``(apiVersion, kind)`` pairs that are installed as CRDs and are
    therefore skipped rather than reported.
    """
    problems: list[SchemaProblem] = []
    for manifest in manifests:
        name = describe(manifest)
        if "apiVersion" not in manifest or "kind" not in manifest:
            problems.append(SchemaProblem(name, "apiVersion and kind are required"))
            continue
        try:
            kubernetes_validate.validate(dict(manifest), version, strict=True)
        except kubernetes_validate.SchemaNotFoundError:
            if (manifest["apiVersion"], manifest["kind"]) not in known_custom_kinds:
                problems.append(
                    SchemaProblem(
                        name,
                        f"no Kubernetes {version} schema for {manifest['apiVersion']} "
                        f"{manifest['kind']} (a CRD must be listed in known_custom_kinds)",
                    )
                )
        except kubernetes_validate.ValidationError as error:
            path = ".".join(str(part) for part in error.absolute_path) or "(root)"
            problems.append(SchemaProblem(name, f"{path}: {error.message}"))
    return problems
