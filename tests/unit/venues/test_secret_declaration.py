"""A venue's secret-file declaration: mistakes fail where the venue is written, and a file's
values become exactly the Secret keys it maps."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr
from unrip.venues.secrets import SecretFile, SecretFileModel


class ApiSecrets(SecretFileModel):
    account: str
    api_key: SecretStr
    passphrase: SecretStr | None = None


def declare(**overrides: object) -> SecretFile:
    fields: dict[str, object] = {
        "filename": "api.yaml",
        "model": ApiSecrets,
        "template": Path("templates/api.yaml"),
        "required": True,
        "purpose": "API key",
        "secret": "venue",
        "keys": {"account": "account", "api-key": "api_key", "passphrase": "passphrase"},
    }
    return SecretFile(**(fields | overrides))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"keys": {"token": "tokn"}}, "api.yaml: keys map to fields the model lacks: ['tokn']"),
        ({"keys": {}}, "api.yaml: maps no field to a key of Secret venue"),
        ({"template": Path("templates/other.yaml")}, "api.yaml: its template must have the same"),
        ({"filename": "api.json"}, "api.json: a secret file is a plain name ending in .yaml"),
        ({"secret": "Venue_Keys"}, "api.yaml: 'Venue_Keys' is not a Kubernetes Secret name"),
        ({"keys": {"api key": "api_key"}}, "api.yaml: not Kubernetes Secret keys: ['api key']"),
    ],
)
def test_a_mistaken_declaration_is_refused_when_the_venue_is_imported(
    overrides: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("[", r"\[").replace("(", r"\(")):
        declare(**overrides)


def test_the_secret_data_reveals_each_mapped_value_in_order_and_skips_an_absent_one() -> None:
    values = ApiSecrets(account="acct", api_key=SecretStr("k3y"))

    assert declare().secret_data(values) == {"account": "acct", "api-key": "k3y"}
    assert list(declare().secret_data(values)) == ["account", "api-key"]


def test_a_venues_file_model_refuses_unknown_keys_and_cannot_be_changed() -> None:
    with pytest.raises(ValueError, match="extra"):
        ApiSecrets.model_validate({"account": "a", "api_key": "k", "apikey": "k"})
    values = ApiSecrets(account="acct", api_key=SecretStr("k3y"))
    with pytest.raises(ValueError, match="frozen"):
        values.account = "other"  # type: ignore[misc]
