"""Reading `.secrets/`: every problem in every file reported at once, no value ever echoed.

The files are the platform's (`secret_groups`) and those each registered venue declares
(`venue_secrets`); both are read, checked and reported the same way.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from unrip.venues.secrets import SecretFile
from unrip_platform.hetzner.config import error_location

from unrip_bootstrap.redact import Redactor
from unrip_bootstrap.secret_groups import (
    PLATFORM_GROUPS,
    ArchiveStorageSecrets,
    HetznerSecrets,
    OperatorSecrets,
    PulumiStateSecrets,
    SecretGroup,
    SshSecrets,
    check_private_key_file,
    placeholder_keys,
    secret_field_names,
)
from unrip_bootstrap.venue_secrets import discover

TEMPLATES_DIR = "secrets-templates"
# The operator's template folder in this checkout: the platform's templates, and a copy of each
# built-in venue's (a test keeps the copies equal to the venue's own).
TEMPLATES = Path(__file__).resolve().parents[2] / TEMPLATES_DIR


class SecretsInvalidError(RuntimeError):
    """`.secrets/` is incomplete or malformed; `problems` has one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("the secrets are not ready:\n  " + "\n  ".join(problems))


@dataclass(frozen=True)
class Secrets:
    """Every validated group; `archive_storage` and a venue's optional files may be absent."""

    directory: Path
    pulumi: PulumiStateSecrets
    hetzner: HetznerSecrets
    ssh: SshSecrets
    operator: OperatorSecrets
    archive_storage: ArchiveStorageSecrets | None = None
    # The venues' files the operator supplied, each with its declaration (venues by name,
    # files in the order each venue declares them).
    venue_files: tuple[tuple[SecretFile, BaseModel], ...] = ()

    @property
    def ssh_private_key(self) -> Path | None:
        return self.ssh.private_key(self.directory)


def load_secrets(directory: Path, redactor: Redactor) -> Secrets:
    """Validate every group file in `directory`; raise SecretsInvalidError listing all problems.

    Secret values are registered with `redactor` before validation, so even a library's error
    message cannot carry one to the output.
    """
    loaded: dict[str, Any] = {}
    if not directory.is_dir():
        raise SecretsInvalidError(
            [f"{directory}: no such folder; copy {TEMPLATES_DIR}/ there and fill in the files"]
        )
    groups = discover()
    problems = list(groups.problems)
    for group in groups.platform:
        loaded[group.key] = _load_group(directory, group, redactor, problems)
    venue_files: list[tuple[SecretFile, BaseModel]] = []
    for group in groups.venues:
        values = _load_group(directory, group, redactor, problems)
        if values is not None and group.declaration is not None:
            venue_files.append((group.declaration, values))
    ssh = loaded.get("ssh")
    if isinstance(ssh, SshSecrets):
        key_file = ssh.private_key(directory)
        if key_file is not None:
            problems.extend(f"ssh.yaml: {line}" for line in check_private_key_file(key_file))
    if problems:
        raise SecretsInvalidError(problems)
    return Secrets(directory=directory, venue_files=tuple(venue_files), **loaded)


def load_one_group(directory: Path, key: str, redactor: Redactor) -> Any:
    """One group's validated model (e.g. `pulumi` for `invoke pulumi`), or SecretsInvalidError."""
    group = next(group for group in PLATFORM_GROUPS if group.key == key)
    problems: list[str] = []
    loaded = _load_group(directory, group, redactor, problems)
    if problems:
        raise SecretsInvalidError(problems)
    if loaded is None:
        raise SecretsInvalidError(
            [f"{group.filename}: missing; copy {TEMPLATES_DIR}/{group.filename} to {directory}/"]
        )
    return loaded


def _load_group(
    directory: Path, group: SecretGroup, redactor: Redactor, problems: list[str]
) -> Any:
    path = directory / group.filename
    if not path.is_file():
        if group.required:
            problems.append(
                f"{group.filename}: missing ({group.purpose}); copy "
                f"{template_hint(group)} to {directory}/ and fill it in"
            )
        return None
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        problems.append(f"{group.filename}: readable by other users; run chmod 600 on it")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problems.append(f"{group.filename}: not valid YAML{where}: {exc.problem or 'syntax'}")
        return None
    except yaml.YAMLError:
        problems.append(f"{group.filename}: not valid YAML")
        return None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.append(f"{group.filename}: must be a YAML mapping of `key: value` lines")
        return None
    for name in secret_field_names(group.model):
        value = data.get(name)
        redactor.add(value if isinstance(value, str) else None)
    left = placeholder_keys(data)
    if left:
        problems.append(
            f"{group.filename}: not filled in yet (still the template's <placeholder>): "
            + ", ".join(left)
        )
        return None
    try:
        return group.model.model_validate(data)
    except ValidationError as exc:
        problems.extend(f"{group.filename}: {describe(error)}" for error in exc.errors())
        return None


def template_hint(group: SecretGroup) -> str:
    """Where the operator copies a missing file from: `secrets-templates/` when it holds the
    file (the platform's, and copies of the built-in venues'), else the venue's own template
    (a venue installed as its own distribution)."""
    if group.declaration is None or (TEMPLATES / group.filename).is_file():
        return f"{TEMPLATES_DIR}/{group.filename}"
    return str(group.declaration.template)


def describe(error: Any) -> str:
    """One validation error as `key[index]: message`, from location and message only."""
    location = error_location(error["loc"])
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "missing":
        message = "required, but missing"
    elif error["type"] == "extra_forbidden":
        message = "unknown key (see the template for the keys this file takes)"
    return f"{location}: {message}" if location else message
