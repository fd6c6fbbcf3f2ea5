"""The platform's secret files: one YAML file per secret group, each key validated.

The templates in `secrets-templates/` document every key; the operator's copies live in the
gitignored `.secrets/`. Validation messages name the file and key and say what is wrong,
never what the value is: secrets are `SecretStr`, and no validator here formats a value into
its message. Each venue declares its own files in its plug-in (`unrip.venues.secrets`);
`venue_secrets` turns those into groups beside these.
"""

from __future__ import annotations

import ipaddress
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from unrip.venues.secrets import SecretFile, SecretFileModel
from unrip_platform.hetzner.ssh_keys import InvalidSshKeyError, parse_ssh_public_key

_HCLOUD_TOKEN = re.compile(r"^[A-Za-z0-9]{64}$")
_BACKEND_SCHEMES: Final = ("file://", "s3://", "gs://", "azblob://", "https://")
# Hetzner stack keys set from other files (ssh.yaml, operator.yaml) or by the bootstrap itself
# (protection and rebuilds: `invoke destroy` and `invoke dr` decide those).
_OWNED_HETZNER_KEYS: Final = frozenset(
    {"sshPublicKeys", "operatorCidrs", "protectData", "applyServerChanges"}
)


def is_placeholder(value: object) -> bool:
    """Template values look like `<what goes here>`: still one means 'not filled in'."""
    return isinstance(value, str) and value.startswith("<") and value.endswith(">")


class _Group(SecretFileModel):
    """The platform's files follow a venue's rules: unknown keys are errors, nothing changes."""


def placeholder_keys(data: dict[str, Any]) -> list[str]:
    """The keys of a file still holding a template's `<placeholder>` (checked for every file,
    the platform's and each venue's, before its model sees it)."""
    return [key for key, value in data.items() if _has_placeholder(value)]


def _has_placeholder(value: object) -> bool:
    if isinstance(value, list):
        return any(is_placeholder(item) for item in value)
    if isinstance(value, dict):
        return any(is_placeholder(item) for item in value.values())
    return is_placeholder(value)


class PulumiStateSecrets(_Group):
    """Where Pulumi keeps the state, and how it encrypts the secrets in it."""

    backend_url: str | None = None
    config_passphrase: SecretStr | None = None
    access_token: SecretStr | None = None
    s3_access_key_id: SecretStr | None = None
    s3_secret_access_key: SecretStr | None = None

    @field_validator("backend_url")
    @classmethod
    def _known_backend(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(_BACKEND_SCHEMES):
            raise ValueError(f"must start with one of {', '.join(_BACKEND_SCHEMES)}")
        return value

    @field_validator("config_passphrase")
    @classmethod
    def _long_passphrase(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 12:
            raise ValueError("must be at least 12 characters (it encrypts the cluster token)")
        return value

    @model_validator(mode="after")
    def _can_encrypt(self) -> PulumiStateSecrets:
        if self.config_passphrase is None and self.access_token is None:
            raise ValueError(
                "config_passphrase is required (or access_token for Pulumi Cloud, which "
                "encrypts state itself)"
            )
        if (self.s3_access_key_id is None) != (self.s3_secret_access_key is None):
            raise ValueError("s3_access_key_id and s3_secret_access_key go together")
        return self

    def environment(self, default_backend: str) -> dict[str, str]:
        """The variables Pulumi's CLI reads; handed to the Automation API's workspace only."""
        env = {"PULUMI_BACKEND_URL": self.backend_url or default_backend}
        pairs = {
            "PULUMI_CONFIG_PASSPHRASE": self.config_passphrase,
            "PULUMI_ACCESS_TOKEN": self.access_token,
            "AWS_ACCESS_KEY_ID": self.s3_access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.s3_secret_access_key,
        }
        env.update({key: value.get_secret_value() for key, value in pairs.items() if value})
        return env

    @property
    def secrets_provider(self) -> str | None:
        """`passphrase` unless Pulumi Cloud encrypts (then its default provider)."""
        return "passphrase" if self.config_passphrase is not None else None


class HetznerSecrets(_Group):
    """The Hetzner Cloud API token, and optional non-secret stack settings."""

    hcloud_token: SecretStr
    settings: dict[str, str | int | bool] = Field(default_factory=dict)

    @field_validator("hcloud_token")
    @classmethod
    def _token_shape(cls, value: SecretStr) -> SecretStr:
        if not _HCLOUD_TOKEN.match(value.get_secret_value()):
            raise ValueError("must be the 64 letters and digits of a Hetzner API token")
        return value

    @field_validator("settings")
    @classmethod
    def _not_owned_elsewhere(cls, value: dict[str, Any]) -> dict[str, Any]:
        owned = sorted(_OWNED_HETZNER_KEYS & set(value))
        if owned:
            raise ValueError(
                f"{', '.join(owned)}: set by the bootstrap (from ssh.yaml, operator.yaml, or "
                "by invoke destroy/dr); remove them here"
            )
        return value


class SshSecrets(_Group):
    """Who may log in to the nodes, and the key the bootstrap logs in with."""

    public_keys: list[str] = Field(min_length=1)
    private_key_file: Path | None = None

    @field_validator("public_keys")
    @classmethod
    def _openssh_lines(cls, keys: list[str]) -> list[str]:
        problems = []
        for index, key in enumerate(keys):
            try:
                parse_ssh_public_key(key)
            except InvalidSshKeyError as exc:
                problems.append(f"entry {index}: {exc}")
        if problems:
            raise ValueError("; ".join(problems))
        return [parse_ssh_public_key(key).openssh for key in keys]

    def private_key(self, base: Path) -> Path | None:
        """The key file as an absolute path (relative paths are relative to `.secrets/`)."""
        if self.private_key_file is None:
            return None
        path = self.private_key_file.expanduser()
        return path if path.is_absolute() else base / path


def check_private_key_file(path: Path) -> list[str]:
    """What is wrong with an SSH private key file (never its content)."""
    if not path.is_file():
        return ["private_key_file: no such file"]
    problems = []
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        problems.append("private_key_file: readable by other users; ssh refuses it (chmod 600)")
    head = path.read_text(errors="replace")[:200]
    if "PRIVATE KEY" not in head:
        problems.append("private_key_file: not a private key file (no PRIVATE KEY header)")
    return problems


class OperatorSecrets(_Group):
    """The operator's addresses: the only sources allowed to reach SSH and the API."""

    cidrs: list[str] = Field(min_length=1)

    @field_validator("cidrs")
    @classmethod
    def _networks(cls, cidrs: list[str]) -> list[str]:
        problems = []
        for index, cidr in enumerate(cidrs):
            try:
                ipaddress.ip_network(str(cidr).strip(), strict=True)
            except ValueError:
                try:
                    ipaddress.ip_network(str(cidr).strip(), strict=False)
                except ValueError:
                    problems.append(f"entry {index}: not an IP address or CIDR")
                else:
                    problems.append(f"entry {index}: host bits set; use the network address")
        if problems:
            raise ValueError("; ".join(problems))
        return [str(cidr).strip() for cidr in cidrs]


class ArchiveStorageSecrets(_Group):
    """The event archive's object storage (the archiver's bucket and S3 credentials)."""

    uri: str
    endpoint: str
    region: str
    access_key: SecretStr
    secret_key: SecretStr

    @field_validator("uri")
    @classmethod
    def _bucket(cls, value: str) -> str:
        if not value.startswith("s3://") or len(value) <= len("s3://"):
            raise ValueError("must be s3://<bucket>[/prefix]")
        return value

    @field_validator("endpoint")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        if not value.startswith("https://"):
            raise ValueError("must be an https:// URL, e.g. https://fsn1.your-objectstorage.com")
        return value


@dataclass(frozen=True)
class SecretGroup:
    """One file of `.secrets/`: its model, and whether bootstrap can run without it."""

    key: str
    filename: str
    model: type[BaseModel]
    required: bool
    purpose: str
    # A venue's file: the plug-in's declaration (template, Secret and keys). None: the
    # platform's own files, whose templates are in secrets-templates/.
    declaration: SecretFile | None = None


# The platform's own files; each registered venue adds its declared files (venue_secrets).
PLATFORM_GROUPS: Final = (
    SecretGroup(
        "pulumi", "pulumi-state.yaml", PulumiStateSecrets, True, "Pulumi state and encryption"
    ),
    SecretGroup("hetzner", "hetzner.yaml", HetznerSecrets, True, "Hetzner Cloud API token"),
    SecretGroup("ssh", "ssh.yaml", SshSecrets, True, "SSH keys for the nodes"),
    SecretGroup("operator", "operator.yaml", OperatorSecrets, True, "operator addresses"),
    SecretGroup(
        "archive_storage",
        "archive-storage.yaml",
        ArchiveStorageSecrets,
        False,
        "event archive object storage",
    ),
)


def secret_field_names(model: type[BaseModel]) -> set[str]:
    """Fields whose values are secrets (registered for redaction before validation)."""
    return {
        name for name, field in model.model_fields.items() if "SecretStr" in str(field.annotation)
    }
