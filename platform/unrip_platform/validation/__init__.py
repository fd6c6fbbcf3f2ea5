"""Offline checks for rendered Kubernetes manifests: strict schemas and the checkov policy scan.

Used by the cluster project's tests and by `invoke check` over the apps' kustomize overlays.
"""

from unrip_platform.validation.policy import (
    CheckovUnavailableError,
    Finding,
    PolicyException,
    PolicyReport,
    ensure_checkov,
    evaluate,
    load_exceptions,
    run_checkov,
    scan_manifests,
    write_manifests,
)
from unrip_platform.validation.schema import (
    KUBERNETES_VERSION,
    SchemaProblem,
    validate_manifests,
)

__all__ = [
    "KUBERNETES_VERSION",
    "CheckovUnavailableError",
    "Finding",
    "PolicyException",
    "PolicyReport",
    "SchemaProblem",
    "ensure_checkov",
    "evaluate",
    "load_exceptions",
    "run_checkov",
    "scan_manifests",
    "validate_manifests",
    "write_manifests",
]
