"""Commands the executor can tell came from the reactor: an HMAC in a record header.

Why a MAC and not only broker ACLs: the embedded local broker enforces no ACLs, and even with
them a leaked service credential would let its holder write ``cmd.execute-trade``. The reactor
signs every command it publishes with ``UNRIP_COMMAND_SIGNING_KEY`` (from a Secret); the
executor verifies before anything else it does with the command and sends an unsigned or
mis-signed one to the DLQ with reason ``unauthenticated``, never to the venue.

The MAC is HMAC-SHA256 over a fixed context string and the record's exact value bytes (the
whole envelope: ids, deadline, amounts), carried in the ``unrip_command_mac`` header as
``v1=<hex>``. A header leaves the versioned envelope contract (docs/contracts.md) untouched;
a replayed signed command is the same command, which the ledger already answers once.

No key is an error at start-up (``CommandSigningSettings``), unless
``UNRIP_COMMAND_SIGNING_DISABLED=true`` says on purpose that nothing is signed or checked.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from typing import Any, Final

from unrip.contracts import Envelope, encode

HEADER: Final = "unrip_command_mac"
VERSION: Final = "v1"
CONTEXT: Final = b"unrip execute-trade command v1\n"
MIN_KEY_BYTES: Final = 32
REASON: Final = "unauthenticated"


class CommandSigner:
    """Signs (reactor) and checks (executor) commands with one shared key; ``None``: disabled."""

    def __init__(self, key: bytes | None) -> None:
        if key is not None and len(key) < MIN_KEY_BYTES:
            raise ValueError(f"the command signing key must have at least {MIN_KEY_BYTES} bytes")
        self._key = key

    @property
    def enabled(self) -> bool:
        return self._key is not None

    def _mac(self, value: bytes) -> str:
        assert self._key is not None
        return hmac.new(self._key, CONTEXT + value, hashlib.sha256).hexdigest()

    def headers(self, envelope: Envelope[Any]) -> tuple[tuple[str, bytes], ...]:
        """The header to publish the envelope with (none when signing is disabled)."""
        if self._key is None:
            return ()
        value, _ = encode(envelope)
        return ((HEADER, f"{VERSION}={self._mac(value)}".encode()),)

    def problem(
        self, value: bytes | None, headers: Sequence[tuple[str, bytes]] | None
    ) -> str | None:
        """Why the record is not a command signed with this key, or None if it is."""
        if self._key is None:
            return None
        found = [v for k, v in headers or () if k == HEADER]
        if not found:
            return f"no {HEADER} header: not signed by the reactor"
        if len(found) > 1:
            return f"{len(found)} {HEADER} headers"
        expected = f"{VERSION}={self._mac(value or b'')}".encode()
        if not hmac.compare_digest(found[0], expected):
            return f"{HEADER} does not match the command: forged, altered or another key"
        return None
