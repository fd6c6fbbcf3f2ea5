"""NEAR Intents asset identifiers (``defuse_asset_identifier``).

The verifier contract names every balance by a token standard and a contract:
``nep141:<ft contract>``, ``nep171:<nft contract>:<token id>`` and
``nep245:<mt contract>:<token id>``. Anything else cannot be settled, so it is rejected at the
edge instead of travelling through the pipeline as an opaque string.
"""

from __future__ import annotations

import re
from typing import Final

# NEAR account ids: 2-64 characters, lowercase alphanumerics separated by single '-', '_'
# or '.', no leading or trailing separator (nomicon, "Account ID" rules).
_ACCOUNT_ID: Final = re.compile(r"(?:[a-z\d]+[-_.])*[a-z\d]+")
_ACCOUNT_ID_MAX: Final = 64
# Token ids of NFT / multi-token contracts are free-form but never empty or blank.
_TOKEN_ID: Final = re.compile(r"\S+")

STANDARDS: Final = ("nep141", "nep171", "nep245")


class AssetIdError(ValueError):
    """An asset id that the verifier contract could not settle; ``code`` is stable."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code: Final = code
        self.detail: Final = detail


def is_account_id(value: str) -> bool:
    """Whether ``value`` is a valid NEAR account id."""
    return 2 <= len(value) <= _ACCOUNT_ID_MAX and _ACCOUNT_ID.fullmatch(value) is not None


def check_asset_id(asset_id: str) -> str:
    """Return ``asset_id`` unchanged if it is well formed, else raise ``AssetIdError``.

    Codes: ``unknown_asset_id_form`` (not one of the three standards) and
    ``invalid_asset_id`` (a known standard whose contract or token id is malformed).
    """
    standard, sep, rest = asset_id.partition(":")
    if not sep or standard not in STANDARDS:
        raise AssetIdError(
            "unknown_asset_id_form",
            f"{asset_id!r} is not nep141:<contract>, nep171:<contract>:<token> "
            "or nep245:<contract>:<token>",
        )
    if standard == "nep141":
        if not is_account_id(rest):
            raise AssetIdError("invalid_asset_id", f"{asset_id!r}: {rest!r} is not an account id")
        return asset_id
    contract, sep, token_id = rest.partition(":")
    if not sep or not is_account_id(contract) or _TOKEN_ID.fullmatch(token_id) is None:
        raise AssetIdError(
            "invalid_asset_id", f"{asset_id!r}: expected {standard}:<contract>:<token id>"
        )
    return asset_id
