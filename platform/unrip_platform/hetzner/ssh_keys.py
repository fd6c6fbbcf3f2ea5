"""OpenSSH public keys as the operator pastes them into the stack config.

Hetzner rejects a malformed key only at `pulumi up`, halfway through a run; parsing the
wire format here turns that into a config error that names the offending entry.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import struct
from dataclasses import dataclass
from typing import Final

# Key types OpenSSH and Hetzner accept for login (no DSA: OpenSSH dropped it).
SUPPORTED_KEY_TYPES: Final = frozenset(
    {
        "ssh-ed25519",
        "ssh-rsa",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    }
)


class InvalidSshKeyError(ValueError):
    """The text is not a usable OpenSSH public key; the message says why."""


@dataclass(frozen=True)
class SshPublicKey:
    """One authorised operator key, normalised to `type base64 [comment]`."""

    key_type: str
    blob: bytes
    comment: str

    @property
    def openssh(self) -> str:
        """The key line as OpenSSH writes it (the form Hetzner stores)."""
        encoded = base64.b64encode(self.blob).decode("ascii")
        return f"{self.key_type} {encoded} {self.comment}".rstrip()

    @property
    def fingerprint(self) -> str:
        """OpenSSH's SHA256 fingerprint (`ssh-keygen -l`), so operators can match keys."""
        digest = base64.b64encode(hashlib.sha256(self.blob).digest()).decode("ascii")
        return "SHA256:" + digest.rstrip("=")

    @property
    def short_id(self) -> str:
        """A stable 10-hex-digit id: names the Hetzner key, independent of list order."""
        return hashlib.sha256(self.blob).hexdigest()[:10]


def parse_ssh_public_key(text: str) -> SshPublicKey:
    """Parse one `authorized_keys`-style line (without options) or raise InvalidSshKeyError."""
    line = text.strip()
    if "PRIVATE KEY" in line:
        raise InvalidSshKeyError("this is a private key; paste the .pub file's line instead")
    parts = line.split(maxsplit=2)
    if len(parts) < 2:
        raise InvalidSshKeyError("expected '<type> <base64> [comment]', e.g. 'ssh-ed25519 AAAA…'")
    key_type, encoded = parts[0], parts[1]
    comment = parts[2].strip() if len(parts) == 3 else ""
    if key_type not in SUPPORTED_KEY_TYPES:
        supported = ", ".join(sorted(SUPPORTED_KEY_TYPES))
        raise InvalidSshKeyError(f"unsupported key type {key_type!r}; use one of {supported}")
    try:
        blob = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidSshKeyError("the key body is not valid base64") from exc
    if _embedded_key_type(blob) != key_type:
        raise InvalidSshKeyError(f"the key body does not encode a {key_type} key")
    return SshPublicKey(key_type=key_type, blob=blob, comment=comment)


def _embedded_key_type(blob: bytes) -> str | None:
    """The algorithm name every SSH public key blob starts with (RFC 4253 §6.6)."""
    if len(blob) < 4:
        return None
    (length,) = struct.unpack(">I", blob[:4])
    if length == 0 or len(blob) < 4 + length:
        return None
    try:
        return blob[4 : 4 + length].decode("ascii")
    except UnicodeDecodeError:
        return None
