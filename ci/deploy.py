"""Deploy one image to the apps: render an overlay with the image pinned, apply, wait, roll back.

    python ci/deploy.py --image registry.unrip.internal/unrip/unrip@sha256:<64 hex> \\
        --overlay hetzner-single-node [--timeout 600]

The workflow, the bootstrap's first delivery and an operator by hand run exactly this. Steps:

1. render ``manifests/overlays/<overlay>`` with a kustomize image override (the image by
   digest; ``--allow-tag`` accepts ``name:tag`` for a workstation cluster);
2. ``kubectl apply --server-side`` everything (git wins over live edits, with one exception:
   a kill switch that is on in the cluster is never turned off by a deploy unless
   ``--release-kill-switch`` is given);
3. wait for every Deployment and StatefulSet to finish its rollout;
4. if one does not within the timeout, ``kubectl rollout undo`` every workload whose pod
   template this deploy changed back to the revision it had before, wait for that, and exit 1.

Operator-owned objects (ServiceAccounts, Roles, RoleBindings, NetworkPolicies and the strategy
ConfigMap) are left out of the apply unless ``--operator`` is given: the deployer identity may
not write them (its Role and the cluster's ValidatingAdmissionPolicy refuse), so only the
operator's own credentials (the bootstrap's direct apply, or by hand) change them.

Cluster access: ``UNRIP_DEPLOYER_TOKEN`` (+ ``UNRIP_DEPLOYER_CA_CRT``, the CA bundle as PEM
text, and ``UNRIP_KUBE_SERVER``, default ``https://kubernetes.default.svc``) when set, written
to a temporary kubeconfig readable by this user only; otherwise kubectl's own configuration
(``KUBECONFIG`` or ``~/.kube/config``). The token is never printed.

Needs Python 3.11+, PyYAML (the project's .venv has it; CI installs ci/requirements.txt) and
kubectl on PATH (or ``UNRIP_KUBECTL``). ``--render-only`` prints the manifests and touches no
cluster. Exit codes: 0 deployed; 1 rollout failed and was rolled back; 2 bad input or cluster
access; 3 the rollback failed too (see docs/delivery.md, "Rolling back by hand").
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
OVERLAYS = ROOT / "manifests" / "overlays"
# The name every unrip container has in manifests/base (kustomize replaces it).
BASE_IMAGE_NAME = "unrip"
DEFAULT_SERVER = "https://kubernetes.default.svc"  # names.KUBE_API_IN_CLUSTER
FIELD_MANAGER = "unrip-deploy"
STRATEGY_CONFIGMAP = "reactor-strategy"
STRATEGY_KEY = "strategy.yaml"
WORKLOAD_KINDS = ("Deployment", "StatefulSet")
# What the deployer may not write (platform/unrip_platform/cluster/deployer.py): applied only
# with --operator, i.e. with the operator's credentials.
OPERATOR_KINDS = frozenset({"ServiceAccount", "Role", "RoleBinding", "NetworkPolicy"})

EXIT_OK = 0
EXIT_ROLLED_BACK = 1
EXIT_USAGE = 2
EXIT_ROLLBACK_FAILED = 3

DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


class DeployError(Exception):
    """A failure before anything was changed (exit 2)."""


@dataclass(frozen=True, slots=True)
class ImageRef:
    repository: str
    digest: str | None = None
    tag: str | None = None

    @classmethod
    def parse(cls, text: str, *, allow_tag: bool) -> ImageRef:
        if "@" in text:
            repository, digest = text.split("@", 1)
            if not DIGEST.match(digest) or not repository:
                raise DeployError(f"--image {text!r}: expected <repository>@sha256:<64 hex>")
            return cls(repository=repository, digest=digest)
        last = text.rsplit("/", 1)[-1]
        if ":" not in last:
            raise DeployError(f"--image {text!r}: give the image by digest (<repo>@sha256:...)")
        repository, tag = text.rsplit(":", 1)
        if not allow_tag:
            raise DeployError(
                f"--image {text!r} is a tag; deploys pin images by digest "
                "(--allow-tag is for a workstation cluster only)"
            )
        if not TAG.match(tag):
            raise DeployError(f"--image {text!r}: {tag!r} is not a valid tag")
        return cls(repository=repository, tag=tag)

    def __str__(self) -> str:
        if self.digest:
            return f"{self.repository}@{self.digest}"
        return f"{self.repository}:{self.tag}"

    def override(self, name: str) -> dict[str, str]:
        """The kustomize ``images`` entry that turns image ``name`` into this reference."""
        entry = {"name": name, "newName": self.repository}
        if self.digest:
            entry["digest"] = self.digest
        else:
            entry["newTag"] = str(self.tag)
        return entry


def say(message: str) -> None:
    print(f"deploy: {message}", file=sys.stderr, flush=True)


# --- rendering ------------------------------------------------------------------------------


def overlay_dir(name: str) -> Path:
    path = OVERLAYS / name
    if not (path / "kustomization.yaml").is_file():
        known = sorted(p.name for p in OVERLAYS.iterdir() if (p / "kustomization.yaml").is_file())
        raise DeployError(f"--overlay {name!r}: no such overlay (known: {', '.join(known)})")
    return path


def app_image_name(overlay: Path) -> str:
    """The name the overlay gives the app image (its ``images`` entry for ``unrip``)."""
    kustomization = yaml.safe_load((overlay / "kustomization.yaml").read_text()) or {}
    for entry in kustomization.get("images") or []:
        if entry.get("name") == BASE_IMAGE_NAME:
            return str(entry.get("newName") or BASE_IMAGE_NAME)
    return BASE_IMAGE_NAME


def containers(manifest: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    if manifest.get("kind") not in (*WORKLOAD_KINDS, "Job", "CronJob", "DaemonSet"):
        return
    spec = manifest["spec"]
    if manifest["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    pod = spec["template"]["spec"]
    yield from pod.get("initContainers") or []
    yield from pod.get("containers") or []


def render(kubectl: Kubectl, overlay: Path, image: ImageRef) -> list[dict[str, Any]]:
    """``kubectl kustomize`` of the overlay under a kustomization that overrides the image."""
    name = app_image_name(overlay)
    with tempfile.TemporaryDirectory(prefix="unrip-deploy-") as scratch:
        # kustomize takes no absolute resource paths; a relative one may leave the root.
        kustomization = {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": [os.path.relpath(overlay, scratch)],
            "images": [image.override(name)],
        }
        Path(scratch, "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
        rendered = kubectl.run(["kustomize", scratch]).stdout
    manifests = [doc for doc in yaml.safe_load_all(rendered) if doc]
    ours = [
        c
        for m in manifests
        for c in containers(m)
        if c.get("image") == str(image) or c.get("image", "").split("@")[0].startswith(name)
    ]
    wrong = sorted({c["image"] for c in ours if c["image"] != str(image)})
    if not ours or wrong:
        raise DeployError(
            f"the override did not pin every app container to {image} (found {wrong or 'none'})"
        )
    return manifests


# --- kubectl --------------------------------------------------------------------------------


@dataclass
class Kubectl:
    """kubectl as a subprocess, with the environment that selects the cluster."""

    executable: str
    env: dict[str, str]

    def run(
        self, args: Sequence[str], *, check: bool = True, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [self.executable, *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            check=False,
        )
        if check and result.returncode != 0:
            raise KubectlError(args, result)
        return result

    def get_json(self, args: Sequence[str]) -> dict[str, Any] | None:
        """``kubectl get ... -o json``; None when the object does not exist."""
        result = self.run(["get", *args, "-o", "json"], check=False)
        if result.returncode != 0:
            if "NotFound" in result.stderr or "not found" in result.stderr:
                return None
            raise KubectlError(["get", *args], result)
        loaded: dict[str, Any] = json.loads(result.stdout)
        return loaded


class KubectlError(Exception):
    def __init__(self, args: Sequence[str], result: subprocess.CompletedProcess[str]) -> None:
        detail = (result.stderr or result.stdout).strip()[-1500:]
        super().__init__(f"kubectl {' '.join(args[:3])} failed ({result.returncode}): {detail}")


@contextmanager
def cluster_access(environ: Mapping[str, str]) -> Iterator[dict[str, str]]:
    """kubectl's environment: a private kubeconfig from the deployer token, or the caller's."""
    env = dict(environ)
    token = environ.get("UNRIP_DEPLOYER_TOKEN", "").strip()
    if not token:
        yield env
        return
    server = environ.get("UNRIP_KUBE_SERVER", "").strip() or DEFAULT_SERVER
    cluster: dict[str, Any] = {"server": server}
    ca = environ.get("UNRIP_DEPLOYER_CA_CRT", "").strip()
    if ca:
        if "BEGIN CERTIFICATE" not in ca:
            raise DeployError("UNRIP_DEPLOYER_CA_CRT is not a PEM certificate bundle")
        cluster["certificate-authority-data"] = base64.b64encode(ca.encode() + b"\n").decode()
    elif server == DEFAULT_SERVER:
        raise DeployError("UNRIP_DEPLOYER_TOKEN is set but UNRIP_DEPLOYER_CA_CRT is not")
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "unrip", "cluster": cluster}],
        "users": [{"name": "deployer", "user": {"token": token}}],
        "contexts": [
            {"name": "deployer", "context": {"cluster": "unrip", "user": "deployer"}},
        ],
        "current-context": "deployer",
    }
    with tempfile.TemporaryDirectory(prefix="unrip-kube-") as directory:
        path = Path(directory, "kubeconfig")
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(yaml.safe_dump(config))
        env["KUBECONFIG"] = str(path)
        yield env


# --- the kill switch guard ------------------------------------------------------------------


def kill_switch_on(strategy_text: str | None) -> bool:
    if not strategy_text:
        return False
    try:
        document = yaml.safe_load(strategy_text)
        return bool(document["limits"]["kill_switch"])
    except (yaml.YAMLError, KeyError, TypeError):
        return False


def keep_live_kill_switch(
    kubectl: Kubectl, manifests: list[dict[str, Any]], release: bool
) -> list[dict[str, Any]]:
    """Drop the strategy ConfigMap from the apply if it would turn a live kill switch off."""
    for manifest in manifests:
        meta = manifest.get("metadata") or {}
        if manifest.get("kind") != "ConfigMap" or meta.get("name") != STRATEGY_CONFIGMAP:
            continue
        if kill_switch_on((manifest.get("data") or {}).get(STRATEGY_KEY)):
            return manifests
        live = kubectl.get_json(["configmap", STRATEGY_CONFIGMAP, "-n", meta["namespace"]])
        if live is None or not kill_switch_on((live.get("data") or {}).get(STRATEGY_KEY)):
            return manifests
        if release:
            say("the kill switch is on in the cluster; --release-kill-switch: applying git's")
            return manifests
        say(
            f"WARNING: the kill switch is on in configmap {meta['namespace']}/"
            f"{STRATEGY_CONFIGMAP} and off in git; the ConfigMap is left as it is. Commit the "
            "kill switch, or deploy with --release-kill-switch to turn it off."
        )
        return [m for m in manifests if m is not manifest]
    return manifests


# --- rollout and rollback -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Workload:
    kind: str
    name: str
    namespace: str

    @property
    def ref(self) -> str:
        return f"{self.kind.lower()}/{self.name}"


def workloads(manifests: Sequence[Mapping[str, Any]]) -> list[Workload]:
    return [
        Workload(m["kind"], m["metadata"]["name"], m["metadata"].get("namespace", "default"))
        for m in manifests
        if m.get("kind") in WORKLOAD_KINDS
    ]


def revision(kubectl: Kubectl, workload: Workload) -> int | None:
    """The workload's current revision number (what ``rollout undo --to-revision`` takes)."""
    live = kubectl.get_json([workload.ref, "-n", workload.namespace])
    if live is None:
        return None
    if workload.kind == "Deployment":
        value = (live["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision")
        return int(value) if value else None
    name = (live.get("status") or {}).get("updateRevision")
    if not name:
        return None
    history = kubectl.get_json(["controllerrevision", name, "-n", workload.namespace])
    return int(history["revision"]) if history else None


def wait_for(kubectl: Kubectl, targets: Sequence[Workload], deadline: float) -> list[str]:
    """Wait for each rollout; the failures, as messages (empty when all finished)."""
    failures = []
    for workload in targets:
        remaining = max(1, int(deadline - time.monotonic()))
        result = kubectl.run(
            [
                "rollout",
                "status",
                workload.ref,
                "-n",
                workload.namespace,
                f"--timeout={remaining}s",
            ],
            check=False,
        )
        if result.returncode == 0:
            say(f"{workload.ref}: rolled out")
        else:
            detail = (result.stderr or result.stdout).strip().splitlines()
            failures.append(f"{workload.ref}: {detail[-1] if detail else 'rollout failed'}")
    return failures


def roll_back(
    kubectl: Kubectl, before: Mapping[Workload, int | None], timeout_s: float
) -> tuple[list[Workload], list[str]]:
    """Undo every workload this deploy changed; (rolled back, problems)."""
    undone: list[Workload] = []
    problems: list[str] = []
    for workload, previous in before.items():
        now = revision(kubectl, workload)
        if now == previous:
            continue  # this deploy did not change its pod template
        if previous is None:
            problems.append(f"{workload.ref}: created by this deploy, nothing to roll back to")
            continue
        result = kubectl.run(
            [
                "rollout",
                "undo",
                workload.ref,
                "-n",
                workload.namespace,
                f"--to-revision={previous}",
            ],
            check=False,
        )
        if result.returncode == 0:
            say(f"{workload.ref}: rolling back to revision {previous}")
            undone.append(workload)
        else:
            problems.append(f"{workload.ref}: rollout undo failed: {result.stderr.strip()}")
    problems += wait_for(kubectl, undone, time.monotonic() + timeout_s)
    return undone, problems


def operator_owned(manifest: Mapping[str, Any]) -> bool:
    kind = manifest.get("kind")
    name = manifest.get("metadata", {}).get("name")
    return kind in OPERATOR_KINDS or (kind == "ConfigMap" and name == STRATEGY_CONFIGMAP)


def split_operator_owned(
    manifests: list[dict[str, Any]],
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(what the deployer applies, what is left to the operator)."""
    return (
        [m for m in manifests if not operator_owned(m)],
        [m for m in manifests if operator_owned(m)],
    )


def deploy(kubectl: Kubectl, manifests: list[dict[str, Any]], args: argparse.Namespace) -> int:
    targets = workloads(manifests)
    before = {workload: revision(kubectl, workload) for workload in targets}
    if args.operator:
        manifests = keep_live_kill_switch(kubectl, manifests, args.release_kill_switch)
    else:
        manifests, left = split_operator_owned(manifests)
        for manifest in left:
            say(
                f"left to the operator (apply with --operator): {manifest['kind'].lower()}/"
                f"{manifest['metadata']['name']}"
            )
    document = yaml.safe_dump_all(manifests, sort_keys=False)
    applied = kubectl.run(
        [
            "apply",
            "--server-side",
            f"--field-manager={FIELD_MANAGER}",
            "--force-conflicts",
            "-f",
            "-",
        ],
        stdin=document,
        check=False,
    )
    for line in applied.stdout.strip().splitlines():
        say(line)
    if applied.returncode != 0:
        # Part of it may have been applied: treat it like a failed rollout.
        failures = [f"kubectl apply: {applied.stderr.strip()[-1500:]}"]
    else:
        failures = wait_for(kubectl, targets, time.monotonic() + args.timeout)
    if not failures:
        say(f"deployed {args.image} ({args.overlay}): {len(targets)} workloads rolled out")
        return EXIT_OK
    for failure in failures:
        say(f"FAILED {failure}")
    say("rolling back the workloads this deploy changed")
    undone, problems = roll_back(kubectl, before, args.timeout)
    if problems:
        for problem in problems:
            say(f"ROLLBACK PROBLEM {problem}")
        say(
            f"deploy of {args.image} FAILED and the rollback did not finish cleanly; see "
            "docs/delivery.md, 'Rolling back by hand'"
        )
        return EXIT_ROLLBACK_FAILED
    rolled = ", ".join(w.ref for w in undone) or "nothing had changed"
    say(f"deploy of {args.image} FAILED; rolled back: {rolled}")
    return EXIT_ROLLED_BACK


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="deploy.py", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--image", required=True, help="<repository>@sha256:<digest>")
    parser.add_argument("--overlay", required=True, help="a directory of manifests/overlays/")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds for all rollouts")
    parser.add_argument("--allow-tag", action="store_true", help="accept <repository>:<tag>")
    parser.add_argument(
        "--release-kill-switch",
        action="store_true",
        help="let git's strategy turn off a kill switch that is on in the cluster",
    )
    parser.add_argument(
        "--operator",
        action="store_true",
        help="also apply the operator-owned objects (RBAC, policies, strategy): operator only",
    )
    parser.add_argument(
        "--render-only", action="store_true", help="print the manifests, touch no cluster"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        image = ImageRef.parse(args.image, allow_tag=args.allow_tag)
        overlay = overlay_dir(args.overlay)
        with cluster_access(os.environ) as env:
            kubectl = Kubectl(os.environ.get("UNRIP_KUBECTL", "kubectl"), env)
            manifests = render(kubectl, overlay, image)
            if args.render_only:
                sys.stdout.write(yaml.safe_dump_all(manifests, sort_keys=False))
                return EXIT_OK
            say(f"deploying {image} with overlay {args.overlay}")
            return deploy(kubectl, manifests, args)
    except (DeployError, KubectlError) as error:
        say(f"error: {error}")
        return EXIT_USAGE
    except FileNotFoundError as error:
        say(f"error: {error.filename or error} not found (is kubectl installed?)")
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
