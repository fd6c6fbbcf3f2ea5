"""A stand-in for ``kubectl`` against a cluster, for ci/deploy.py's tests (no API server here).

It keeps the slice of cluster state a deploy touches in a JSON file (``FAKE_KUBECTL_STATE``):
objects by kind/namespace/name, and for Deployments and StatefulSets their pod-template history
and revision numbers, the way the controllers number them. ``kustomize`` goes to the real
kubectl (``FAKE_KUBECTL_REAL``). A rollout fails when the pod template uses an image listed in
``broken_images``; ``undo_fails`` and ``forbidden_kinds`` inject the other failures. Every call
is recorded with the kubeconfig it ran with.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import yaml

STATE = Path(os.environ["FAKE_KUBECTL_STATE"])
KINDS = {
    "deployment": "Deployment",
    "statefulset": "StatefulSet",
    "configmap": "ConfigMap",
    "controllerrevision": "ControllerRevision",
}


def load() -> dict[str, Any]:
    if STATE.exists():
        state: dict[str, Any] = json.loads(STATE.read_text())
        return state
    return {}


def save(state: dict[str, Any]) -> None:
    STATE.write_text(json.dumps(state, indent=1, sort_keys=True))


def option(args: list[str], name: str) -> str:
    for index, arg in enumerate(args):
        if arg == name:
            return args[index + 1]
        if arg.startswith(name + "="):
            return arg.split("=", 1)[1]
    raise SystemExit(f"fake kubectl: {name} missing in {args}")


def key(kind: str, namespace: str, name: str) -> str:
    return f"{kind}/{namespace}/{name}"


def images(template: dict[str, Any]) -> set[str]:
    spec = template["spec"]
    return {c["image"] for c in [*spec.get("initContainers", []), *spec["containers"]]}


def live(state: dict[str, Any], kind: str, namespace: str, name: str) -> dict[str, Any] | None:
    if kind == "ControllerRevision":
        for workload in state.get("workloads", {}).values():
            for number, _ in workload["history"].items():
                if f"{workload['name']}-{number}" == name:
                    return {"kind": kind, "revision": int(number)}
        return None
    if kind in ("Deployment", "StatefulSet"):
        workload = state.get("workloads", {}).get(key(kind, namespace, name))
        if workload is None:
            return None
        current = str(workload["revision"])
        if kind == "Deployment":
            meta = {"name": name, "annotations": {"deployment.kubernetes.io/revision": current}}
            return {"kind": kind, "metadata": meta}
        return {
            "kind": kind,
            "metadata": {"name": name},
            "status": {"updateRevision": f"{name}-{current}"},
        }
    obj: dict[str, Any] | None = state.get("objects", {}).get(key(kind, namespace, name))
    return obj


def set_template(workload: dict[str, Any], template: dict[str, Any]) -> None:
    """A changed pod template is a new revision (an unchanged one is not)."""
    if workload["history"] and workload["history"][str(workload["revision"])] == template:
        return
    workload["revision"] += 1
    workload["history"][str(workload["revision"])] = template


def apply(state: dict[str, Any], documents: list[dict[str, Any]]) -> int:
    forbidden = set(state.get("forbidden_kinds", []))
    failed = False
    for doc in documents:
        meta = doc["metadata"]
        namespace = meta.get("namespace", "default")
        kind_word = f"{doc['kind'].lower()}.{doc['apiVersion'].split('/')[0]}"
        if doc["kind"] in forbidden:
            print(
                f'Error from server (Forbidden): {doc["kind"]} "{meta["name"]}" is forbidden',
                file=sys.stderr,
            )
            failed = True
            continue
        if doc["kind"] in ("Deployment", "StatefulSet"):
            workloads = state.setdefault("workloads", {})
            entry = workloads.setdefault(
                key(doc["kind"], namespace, meta["name"]),
                {"name": meta["name"], "revision": 0, "history": {}},
            )
            set_template(entry, doc["spec"]["template"])
        else:
            state.setdefault("objects", {})[key(doc["kind"], namespace, meta["name"])] = doc
        print(f"{kind_word}/{meta['name']} serverside-applied")
    return 1 if failed else 0


def main(args: list[str]) -> int:
    if args[:1] == ["kustomize"]:
        os.execv(os.environ["FAKE_KUBECTL_REAL"], ["kubectl", *args])
    state = load()
    kubeconfig = os.environ.get("KUBECONFIG")
    config_path = Path(kubeconfig) if kubeconfig else None
    state.setdefault("calls", []).append(
        {
            "argv": args,
            "kubeconfig": config_path.read_text() if config_path and config_path.exists() else None,
            "kubeconfig_mode": oct(config_path.stat().st_mode & 0o777)
            if config_path and config_path.exists()
            else None,
            "kubeconfig_path": kubeconfig,
        }
    )
    try:
        return dispatch(state, args)
    finally:
        save(state)


def dispatch(state: dict[str, Any], args: list[str]) -> int:
    namespace = option(args, "-n") if "-n" in args else "default"
    if args[0] == "get":
        if "/" in args[1]:
            word, name = args[1].split("/", 1)
        else:
            word, name = args[1], args[2]
        found = live(state, KINDS[word], namespace, name)
        if found is None:
            print(f'Error from server (NotFound): {word}s "{name}" not found', file=sys.stderr)
            return 1
        print(json.dumps(found))
        return 0
    if args[0] == "apply":
        assert "--server-side" in args and option(args, "-f") == "-"
        return apply(state, [d for d in yaml.safe_load_all(sys.stdin.read()) if d])
    if args[:2] == ["rollout", "status"]:
        word, name = args[2].split("/", 1)
        workload = state["workloads"][key(KINDS[word], namespace, name)]
        template = workload["history"][str(workload["revision"])]
        if images(template) & set(state.get("broken_images", [])):
            print(f'error: {word} "{name}" exceeded its progress deadline', file=sys.stderr)
            return 1
        print(f'{word} "{name}" successfully rolled out')
        return 0
    if args[:2] == ["rollout", "undo"]:
        word, name = args[2].split("/", 1)
        if state.get("undo_fails"):
            print(f"error: unable to roll back {word}/{name}", file=sys.stderr)
            return 1
        workload = state["workloads"][key(KINDS[word], namespace, name)]
        target = option(args, "--to-revision")
        set_template(workload, workload["history"][target])
        print(f"{word}.apps/{name} rolled back")
        return 0
    print(f"fake kubectl: unsupported {args}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
