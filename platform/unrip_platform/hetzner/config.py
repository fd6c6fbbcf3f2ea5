"""Typed, validated settings of the Hetzner stack (the `unrip-hetzner:*` config keys).

Every mistake an operator can make in `Pulumi.<stack>.yaml` is reported before any cloud
call, all at once, each naming the config key it is about. None of these settings is secret
(the API token is the provider's own `hcloud:token`), so messages may quote values.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Final, TypeAlias

import pulumi
from pulumi.runtime import config as runtime_config
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from unrip_platform import names
from unrip_platform.hetzner.ssh_keys import InvalidSshKeyError, SshPublicKey, parse_ssh_public_key

PROJECT: Final = "unrip-hetzner"
# The k3s release installed when the stack does not pin another one. Pinned, never a channel:
# a rebuild must install exactly what was tested.
DEFAULT_K3S_VERSION: Final = names.K3S_VERSION
# Hetzner location -> the network zone its private networks live in.
NETWORK_ZONES: Final[Mapping[str, str]] = {
    "fsn1": "eu-central",
    "nbg1": "eu-central",
    "hel1": "eu-central",
    "ash": "us-east",
    "hil": "us-west",
    "sin": "ap-southeast",
}
MAX_NODES: Final = 10
# Nodes take consecutive private addresses from this host number on (.1 is Hetzner's gateway).
FIRST_NODE_HOST: Final = 10
# Prefixes shorter than these are "the internet" for SSH and the Kubernetes API.
_MIN_ADMIN_PREFIX: Final = {4: 8, 6: 16}
_K3S_VERSION = re.compile(r"^v\d+\.\d+\.\d+\+k3s\d+$")
_NAME_PREFIX = re.compile(r"^[a-z][a-z0-9-]{0,38}[a-z0-9]$")
_SERVER_TYPE = re.compile(r"^[a-z]{2,4}\d{1,3}[a-z]?$")
_IMAGE = re.compile(r"^[a-z0-9][a-z0-9.\-]{0,62}$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

IpNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network


class ConfigError(pulumi.RunError):
    """The stack config is unusable; the message lists every problem by config key."""


def parse_network(value: object) -> IpNetwork:
    """A CIDR (a bare address means a single host); host bits set is a mistake, not a /32."""
    if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network):
        return value
    text = str(value).strip()
    try:
        return ipaddress.ip_network(text, strict=True)
    except ValueError as exc:
        loose = _loose_network(text)
        if loose is None:
            raise ValueError(f"{text!r} is not an IP address or CIDR") from exc
        host = text.split("/", 1)[0]
        single = 32 if loose.version == 4 else 128
        raise ValueError(
            f"{text!r} has host bits set; did you mean {loose} or {host}/{single}?"
        ) from exc


def _loose_network(text: str) -> IpNetwork | None:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def _parse_key(value: object) -> SshPublicKey:
    if isinstance(value, SshPublicKey):
        return value
    try:
        return parse_ssh_public_key(str(value))
    except InvalidSshKeyError as exc:
        raise ValueError(str(exc)) from exc


Network = Annotated[IpNetwork, BeforeValidator(parse_network)]
PublicKey = Annotated[SshPublicKey, BeforeValidator(_parse_key)]


def config_key(field_name: str) -> str:
    """The Pulumi config key of a settings field: `k3s_version` -> `k3sVersion`."""
    first, *rest = field_name.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


class HetznerSettings(BaseModel):
    """What the operator decides; everything else the program derives from it."""

    model_config = ConfigDict(
        alias_generator=config_key,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        arbitrary_types_allowed=True,
    )

    name_prefix: str
    location: str = "nbg1"
    server_type: str = "cx33"
    image: str = "ubuntu-24.04"
    k3s_version: str = DEFAULT_K3S_VERSION
    # Required: nodes never run an installer they cannot verify (see docs/infra-hetzner.md).
    k3s_install_script_sha256: str
    ssh_public_keys: tuple[PublicKey, ...] = Field(min_length=1)
    operator_cidrs: tuple[Network, ...] = Field(min_length=1)
    allow_open_admin_access: bool = False
    node_count: int = Field(default=1, ge=1, le=MAX_NODES)
    volume_size_gb: int = Field(default=50, ge=10, le=10240)
    network_cidr: Network = ipaddress.IPv4Network("10.0.0.0/16")
    subnet_cidr: Network = ipaddress.IPv4Network("10.0.1.0/24")
    apply_server_changes: bool = False
    protect_data: bool = True

    @field_validator("name_prefix")
    @classmethod
    def _name_prefix_is_a_hostname_part(cls, value: str) -> str:
        if not _NAME_PREFIX.match(value):
            raise ValueError(
                f"{value!r} must be 2-40 lowercase letters, digits or '-', starting with a "
                "letter (it prefixes every Hetzner resource name and the node hostnames)"
            )
        return value

    @field_validator("location")
    @classmethod
    def _location_is_known(cls, value: str) -> str:
        if value not in NETWORK_ZONES:
            raise ValueError(f"unknown location {value!r}; use one of {', '.join(NETWORK_ZONES)}")
        return value

    @field_validator("server_type")
    @classmethod
    def _server_type_is_a_name(cls, value: str) -> str:
        if not _SERVER_TYPE.match(value):
            raise ValueError(f"{value!r} is not a Hetzner server type name such as cx33 or cpx31")
        return value

    @field_validator("image")
    @classmethod
    def _image_is_a_name(cls, value: str) -> str:
        if not _IMAGE.match(value):
            raise ValueError(f"{value!r} is not a Hetzner image name such as ubuntu-24.04")
        return value

    @field_validator("k3s_version")
    @classmethod
    def _k3s_version_is_pinned(cls, value: str) -> str:
        if not _K3S_VERSION.match(value):
            raise ValueError(
                f"{value!r} is not a pinned k3s release; use an exact tag such as "
                f"{DEFAULT_K3S_VERSION} (channels like 'stable' or 'latest' change under you)"
            )
        return value

    @field_validator("k3s_install_script_sha256")
    @classmethod
    def _sha256_is_hex(cls, value: str) -> str:
        if not _SHA256.match(value):
            raise ValueError(
                "must be the 64 lowercase hex digits of `sha256sum install.sh` "
                "(the installer at k3s_install_url(k3sVersion))"
            )
        return value

    @field_validator("ssh_public_keys")
    @classmethod
    def _ssh_keys_are_distinct(cls, keys: tuple[SshPublicKey, ...]) -> tuple[SshPublicKey, ...]:
        seen: dict[bytes, int] = {}
        for index, key in enumerate(keys):
            if key.blob in seen:
                raise ValueError(
                    f"entry {index} is the same key as entry {seen[key.blob]} "
                    f"({key.fingerprint}); Hetzner stores each key once"
                )
            seen[key.blob] = index
        return keys

    @field_validator("operator_cidrs")
    @classmethod
    def _operator_cidrs_are_distinct(cls, cidrs: tuple[IpNetwork, ...]) -> tuple[IpNetwork, ...]:
        return tuple(dict.fromkeys(cidrs))

    @field_validator("network_cidr", "subnet_cidr")
    @classmethod
    def _private_ipv4(cls, value: IpNetwork) -> IpNetwork:
        if value.version != 4 or not value.is_private:
            raise ValueError(f"{value} must be a private IPv4 range (RFC 1918), e.g. 10.0.0.0/16")
        return value

    @model_validator(mode="after")
    def _admin_access_is_not_the_internet(self) -> HetznerSettings:
        if self.allow_open_admin_access:
            return self
        too_open = [c for c in self.operator_cidrs if c.prefixlen < _MIN_ADMIN_PREFIX[c.version]]
        if too_open:
            listed = ", ".join(str(c) for c in too_open)
            raise ValueError(
                f"operatorCidrs {listed} would open SSH and the Kubernetes API to a large part "
                "of the internet; list your own addresses, or set "
                f"{PROJECT}:allowOpenAdminAccess to true if you really mean it"
            )
        return self

    @model_validator(mode="after")
    def _nodes_fit_in_the_subnet(self) -> HetznerSettings:
        if not self.subnet_cidr.subnet_of(self.network_cidr):  # type: ignore[arg-type]
            raise ValueError(
                f"subnetCidr {self.subnet_cidr} must lie inside networkCidr {self.network_cidr}"
            )
        last_host = FIRST_NODE_HOST + self.node_count - 1
        if last_host >= self.subnet_cidr.num_addresses - 1:
            raise ValueError(
                f"subnetCidr {self.subnet_cidr} is too small for {self.node_count} nodes "
                f"(nodes take host numbers {FIRST_NODE_HOST}..{last_host})"
            )
        return self

    @property
    def network_zone(self) -> str:
        """The Hetzner network zone of `location` (private subnets are per zone)."""
        return NETWORK_ZONES[self.location]

    def node_private_ip(self, index: int) -> str:
        """Node `index`'s fixed private address: stable across rebuilds, known before boot."""
        if not 0 <= index < self.node_count:
            raise IndexError(f"node {index} does not exist (nodeCount={self.node_count})")
        return str(self.subnet_cidr.network_address + FIRST_NODE_HOST + index)


# Config keys whose value is a list (Pulumi hands structured values over as JSON text).
_LIST_KEYS: Final = frozenset({"sshPublicKeys", "operatorCidrs"})


def settings_from_config(raw: Mapping[str, Any], *, stack: str) -> HetznerSettings:
    """Build settings from the project's config values (keys without the project prefix).

    Raises ConfigError listing every invalid, missing or unknown key.
    """
    values: dict[str, Any] = dict(raw)
    problems: list[str] = []
    known = {field.alias or name for name, field in HetznerSettings.model_fields.items()}
    for key in sorted(set(values) - known):
        problems.append(f"{PROJECT}:{key}: unknown setting (known: {', '.join(sorted(known))})")
        del values[key]
    for key in _LIST_KEYS & set(values):
        decoded = _decode_list(values[key])
        if decoded is None:
            problems.append(
                f"{PROJECT}:{key}: must be a list (a YAML list in Pulumi.<stack>.yaml, or "
                f"`pulumi config set --path '{key}[0]' VALUE`)"
            )
            del values[key]
        else:
            values[key] = decoded
    values.setdefault("namePrefix", f"unrip-{stack}".lower())
    try:
        settings = HetznerSettings.model_validate(values)
    except ValidationError as exc:
        problems.extend(_describe_all(exc.errors(), already_reported=set(raw) - set(values)))
        settings = None
    if problems or settings is None:
        raise ConfigError(f"the {PROJECT} stack config is invalid:\n  " + "\n  ".join(problems))
    return settings


def load_settings() -> HetznerSettings:
    """Settings of the running Pulumi program, from its stack config."""
    return settings_from_config(project_config(PROJECT), stack=pulumi.get_stack())


def project_config(project: str) -> dict[str, Any]:
    """Every config value of `project` the engine handed to this program, by bare key.

    pulumi.Config only answers for keys one asks about; listing them all is what lets a
    misspelt key be reported instead of silently ignored.
    """
    merged = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    prefix = f"{project}:"
    return {key[len(prefix) :]: value for key, value in merged.items() if key.startswith(prefix)}


def _decode_list(value: Any) -> list[Any] | None:
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, str):
        try:
            decoded = json.loads(value)
        except json.JSONDecodeError:
            return None
        return decoded if isinstance(decoded, list) else None
    return None


def _describe_all(errors: list[Any], already_reported: set[str]) -> list[str]:
    """One line per problem: no 'missing' for a key already rejected, no 'too short' for a
    list whose items were rejected."""
    with_item_errors = {e["loc"][0] for e in errors if len(e["loc"]) > 1}
    return [
        _describe(error)
        for error in errors
        if not (error["loc"] and error["loc"][0] in already_reported)
        and not (error["type"] == "too_short" and error["loc"][0] in with_item_errors)
    ]


def error_location(loc: Sequence[int | str]) -> str:
    """A pydantic error location as `key.field[index]` (empty for the model itself)."""
    return "".join(
        f"[{part}]" if isinstance(part, int) else (f".{part}" if index else str(part))
        for index, part in enumerate(loc)
    )


def _describe(error: Any) -> str:
    location = error_location(error["loc"])
    key = f"{PROJECT}:{location}" if location else PROJECT
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "missing":
        message = "required; see platform/hetzner/Pulumi.example.yaml"
    elif error["type"] == "too_short":
        message = "must list at least one entry"
    return f"{key}: {message}"
