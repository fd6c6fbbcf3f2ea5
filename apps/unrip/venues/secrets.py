"""What a venue needs from the operator: its secret files, and the Kubernetes Secret they fill.

A venue declares each file the operator keeps in `.secrets/` for it (a `SecretFile`): the
pydantic model that validates it, the documented template it is copied from, whether the
bootstrap can run without it, and which keys of which Secret in the apps namespace its values
become (the Secret and keys the venue's manifests read). The workstation bootstrap finds the
declarations through the venue registry and validates, reports and writes them like its own
files, so a venue with secrets needs no bootstrap edit. Nothing here reads a file or talks to
a cluster: this is the venue's side of the contract only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from pydantic import BaseModel, ConfigDict, SecretStr

# What Kubernetes accepts: a Secret's name (a DNS-1123 subdomain) and a key of its data.
_LABEL: Final = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_SECRET_NAME: Final = re.compile(rf"^{_LABEL}(\.{_LABEL})*$")
_SECRET_KEY: Final = re.compile(r"^[-._a-zA-Z0-9]+$")


class SecretFileModel(BaseModel):
    """Base of a venue's secret file model: unknown keys are errors, values never change.

    Validators must say what is wrong, never what the value is: keep secrets `SecretStr`
    and format no value into a message (the bootstrap prints messages as they are).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True, slots=True, kw_only=True)
class SecretFile:
    """One file of `.secrets/` a venue reads, and the Secret keys it fills.

    `keys` maps each key of Secret `secret` to the model field whose value it holds, in the
    order the Secret lists them. Several files may fill one Secret (NEAR's relay JWT and its
    optional solver keys share `near-intents`); a field left `None` writes no key.
    """

    # The operator's file name in `.secrets/`, e.g. `near-relay.yaml`; also the template's.
    filename: str
    model: type[BaseModel]
    # The documented template, every key with a comment above it and `<placeholder>` values.
    template: Path
    # Whether the bootstrap refuses to run while the file is missing.
    required: bool
    # One line for the operator: what the file holds (shown when it is missing).
    purpose: str
    # The Kubernetes Secret in the apps namespace the values go to.
    secret: str
    keys: Mapping[str, str]

    def __post_init__(self) -> None:
        # Mistakes in a declaration are the venue author's: fail at import, not at deploy.
        if not self.filename.endswith(".yaml") or "/" in self.filename:
            raise ValueError(f"{self.filename}: a secret file is a plain name ending in .yaml")
        if self.template.name != self.filename:
            raise ValueError(f"{self.filename}: its template must have the same file name")
        unknown = sorted(set(self.keys.values()) - set(self.model.model_fields))
        if unknown:
            raise ValueError(f"{self.filename}: keys map to fields the model lacks: {unknown}")
        if not self.keys:
            raise ValueError(f"{self.filename}: maps no field to a key of Secret {self.secret}")
        if len(self.secret) > 253 or not _SECRET_NAME.match(self.secret):
            raise ValueError(f"{self.filename}: {self.secret!r} is not a Kubernetes Secret name")
        bad_keys = sorted(key for key in self.keys if not _SECRET_KEY.match(key))
        if bad_keys:
            raise ValueError(f"{self.filename}: not Kubernetes Secret keys: {bad_keys}")

    def secret_data(self, values: BaseModel) -> dict[str, str]:
        """Secret key -> plain value for a validated file (the one place secrets are revealed)."""
        data: dict[str, str] = {}
        for key, field_name in self.keys.items():
            value = getattr(values, field_name)
            if value is None:
                continue
            data[key] = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        return data
