"""The image digests pinned on first contact: `.state/<stack>/image-digests.json`.

Like the SSH host key in `known_hosts`, a digest recorded here is the truth from then on: a
rerun reuses it, so a tag re-pushed upstream changes nothing until the operator asks for it
(`--repin-images`). Each digest is written as soon as it is resolved, so a run that fails
half-way keeps what it learnt.
"""

from __future__ import annotations

import json
from pathlib import Path

from unrip_bootstrap.kubeconfig import write_private


class ImageDigests:
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> dict[str, str]:
        """Image reference (`repo:tag`) -> `sha256:…`."""
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        return {str(ref): str(digest) for ref, digest in data.get("images", {}).items()}

    def record(self, reference: str, digest: str) -> None:
        images = {**self.load(), reference: digest}
        write_private(self.path, json.dumps({"images": images}, indent=2, sort_keys=True) + "\n")
