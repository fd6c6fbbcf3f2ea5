"""The local state folder `.state/<stack>/` (gitignored): checkpoints, kubeconfig, known hosts,
image digests.

Checkpoints record what each step last did, for `--from`, `invoke status` and the resume hint.
They are not the truth: every step re-checks the live system before it skips itself, so a
stale checkpoint (after a disaster, on another workstation) can never make a step skip.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from unrip_bootstrap.kubeconfig import write_private
from unrip_bootstrap.redact import Redactor


@dataclass(frozen=True)
class StatePaths:
    root: Path

    @property
    def checkpoints(self) -> Path:
        return self.root / "bootstrap.json"

    @property
    def kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    @property
    def known_hosts(self) -> Path:
        return self.root / "known_hosts"

    @property
    def known_hosts_server(self) -> Path:
        """The Hetzner server id the pinned host key in `known_hosts` belongs to."""
        return self.root / "known_hosts.server"

    @property
    def image_digests(self) -> Path:
        """The digest each tag-only platform image was pinned to on first contact."""
        return self.root / "image-digests.json"

    @property
    def log(self) -> Path:
        return self.root / "bootstrap.log"


def fingerprint(value: str) -> str:
    """A one-way fingerprint of a high-entropy secret: tells 'changed' without keeping it."""
    return hashlib.sha256(value.encode()).hexdigest()


class StateStore:
    def __init__(self, paths: StatePaths, redactor: Redactor) -> None:
        self.paths = paths
        self._redactor = redactor

    def load(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.paths.checkpoints.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return {"steps": {}, "fingerprints": {}, "runs": []}
        data.setdefault("steps", {})
        data.setdefault("fingerprints", {})
        data.setdefault("runs", [])
        return data

    def _save(self, data: dict[str, Any]) -> None:
        text = self._redactor.redact(json.dumps(data, indent=2, sort_keys=True))
        write_private(self.paths.checkpoints, text + "\n")

    def record_step(
        self, name: str, status: str, detail: str, duration_s: float, at: datetime
    ) -> None:
        data = self.load()
        data["steps"][name] = {
            "status": status,
            "detail": detail,
            "duration_s": round(duration_s, 1),
            "at": at.isoformat(timespec="seconds"),
        }
        self._save(data)

    def record_run(self, record: dict[str, Any]) -> None:
        data = self.load()
        data["runs"] = [*data["runs"], record][-20:]
        self._save(data)

    def last_run(self) -> dict[str, Any] | None:
        runs = self.load()["runs"]
        return runs[-1] if runs else None

    def fingerprint_matches(self, key: str, value: str) -> bool:
        return bool(self.load()["fingerprints"].get(key) == fingerprint(value))

    def remember_fingerprint(self, key: str, value: str) -> None:
        data = self.load()
        data["fingerprints"][key] = fingerprint(value)
        self._save(data)

    def forget_fingerprints(self) -> None:
        data = self.load()
        data["fingerprints"] = {}
        self._save(data)
