"""Fake private keys for tests: recognisable sentinels in PEM armour, never real material.

The armour is assembled here rather than written out in each test, so repository secret
scanners (which look for the literal header) do not cry wolf, and a real key committed by
mistake still stands out.
"""

from __future__ import annotations

_HEADER = "-----BEGIN {kind} " + "PRIVATE KEY-----"
_FOOTER = "-----END {kind} " + "PRIVATE KEY-----"


def pem_header(kind: str = "OPENSSH") -> str:
    return _HEADER.format(kind=kind)


def fake_private_key(body: str, kind: str = "OPENSSH") -> str:
    """``body`` wrapped in the armour of a ``kind`` private key, with a trailing newline."""
    return f"{pem_header(kind)}\n{body}\n{_FOOTER.format(kind=kind)}\n"
