"""The admin kubeconfig k3s writes on the node, made usable from the workstation.

k3s points it at `https://127.0.0.1:6443` and names everything `default`; the copy here points
at the stable IPv4 (which is in the API certificate's SANs) and is named after the cluster, so
it can sit beside other kubeconfigs. It holds the cluster-admin key: written 0600, atomically.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import yaml

# Where k3s keeps key material in the document (registered as secrets for redaction).
SECRET_FIELDS = ("client-key-data", "client-certificate-data", "token", "password")


class KubeconfigError(ValueError):
    """The fetched document is not the kubeconfig expected (message never includes it)."""


def rewrite_kubeconfig(text: str, *, old_server: str, new_server: str, name: str) -> str:
    """`text` with the API server replaced and cluster, user and context renamed to `name`."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        raise KubeconfigError("the node's kubeconfig is not valid YAML") from None
    if not isinstance(document, dict) or document.get("kind") != "Config":
        raise KubeconfigError("the node's file is not a kubeconfig (kind: Config)")
    clusters = document.get("clusters") or []
    replaced = 0
    for entry in clusters:
        cluster = entry.get("cluster") or {}
        if cluster.get("server") == old_server:
            cluster["server"] = new_server
            replaced += 1
    if replaced == 0:
        raise KubeconfigError(
            f"no cluster with server {old_server} in the node's kubeconfig; refusing to write "
            "a kubeconfig that would not reach the stable address"
        )
    if len(clusters) == 1 and len(document.get("users") or []) == 1:
        _rename_single(document, name)
    return yaml.safe_dump(document, sort_keys=False)


def _rename_single(document: dict[str, Any], name: str) -> None:
    document["clusters"][0]["name"] = name
    document["users"][0]["name"] = name
    document["contexts"] = [{"name": name, "context": {"cluster": name, "user": name}}]
    document["current-context"] = name


def kubeconfig_secrets(text: str) -> list[str]:
    """The key material in a kubeconfig (to register for redaction)."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        return []
    found: list[str] = []
    if isinstance(document, dict):
        for user in document.get("users") or []:
            fields = (user or {}).get("user") or {}
            found.extend(str(fields[key]) for key in SECRET_FIELDS if fields.get(key))
    return found


def server_of(text: str) -> str | None:
    """The API server of the (first) cluster, or None if the file is unusable."""
    try:
        document = yaml.safe_load(text)
        return str(document["clusters"][0]["cluster"]["server"])
    except (yaml.YAMLError, KeyError, IndexError, TypeError):
        return None


def write_private(path: Path, text: str) -> None:
    """Write `text` to `path` with mode 0600, atomically; never readable by others, not even
    for an instant (the temporary file is created 0600 in the same folder)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w") as file:
            file.write(text)
        Path(temporary).chmod(0o600)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
