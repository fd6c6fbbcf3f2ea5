"""A venue's secret files come from its plug-in: the throwaway venue, installed through its
entry point with no bootstrap edit, is validated, reported and written like NEAR's, and NEAR's
Secret is exactly what the bootstrap wrote before venues declared their secrets."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from unrip.contracts import codec
from unrip.venues import registry
from unrip.venues.near_intents import secrets as near_secrets
from unrip.venues.plugin import VenuePlugin
from unrip.venues.secrets import SecretFile
from unrip_bootstrap.redact import Redactor
from unrip_bootstrap.secret_files import SecretsInvalidError, load_secrets
from unrip_bootstrap.steps.app_secrets import app_secret_manifests
from unrip_bootstrap.venue_secrets import discover
from unrip_platform import names

from tests.bootstrap.conftest import JWT, SIGNING_KEY, Workstation, write_secrets
from tests.throwaway_venue import install_throwaway_venue

pytestmark = pytest.mark.platform

API_KEY = "0123456789abcdef" * 2
BAD = "BadValueSentinel"


def _forget_throwaway() -> None:
    registry.load.cache_clear()
    for module in [m for m in sys.modules if m.split(".")[0] == "throwaway_venue"]:
        del sys.modules[module]


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The throwaway venue installed beside the product, as its own distribution."""
    site = tmp_path / "site"
    install_throwaway_venue(site)
    # Loading a plug-in registers its raw schema process-wide: keep that to this test.
    monkeypatch.setattr(codec, "_REGISTRY", codec.registered())
    _forget_throwaway()
    monkeypatch.syspath_prepend(str(site))
    yield site
    _forget_throwaway()


def test_an_installed_venue_adds_its_secret_file_with_no_bootstrap_edit(site: Path) -> None:
    groups = discover()

    assert groups.problems == ()
    venue_files = {group.filename: group for group in groups.venues}
    assert set(venue_files) == {"near-relay.yaml", "venue-keys.yaml", "throwaway-api.yaml"}
    throwaway = venue_files["throwaway-api.yaml"]
    assert throwaway.required and throwaway.purpose == "throwaway API key"


def test_a_missing_venue_file_names_the_venues_own_template(site: Path, repo: Path) -> None:
    with pytest.raises(SecretsInvalidError) as info:
        load_secrets(repo / ".secrets", Redactor())

    template = site / "throwaway_venue" / "secret-templates" / "throwaway-api.yaml"
    assert info.value.problems == [
        f"throwaway-api.yaml: missing (throwaway API key); copy {template} to "
        f"{repo / '.secrets'}/ and fill it in"
    ]
    assert template.is_file()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            {"account": "acct", "api_key": BAD},
            "throwaway-api.yaml: api_key: must be the 32 hex digits of a throwaway API key",
        ),
        ({"api_key": API_KEY}, "throwaway-api.yaml: account: required, but missing"),
        (
            {"account": "acct", "api_key": API_KEY, "api_secret": BAD},
            "throwaway-api.yaml: api_secret: unknown key (see the template for the keys this file "
            "takes)",
        ),
        (
            {"account": "acct", "api_key": "<32 hex digits>"},
            "throwaway-api.yaml: not filled in yet (still the template's <placeholder>): api_key",
        ),
    ],
)
def test_a_venues_file_is_checked_by_its_own_model_naming_file_and_key_never_the_value(
    site: Path, repo: Path, content: dict[str, str], expected: str
) -> None:
    write_secrets(repo / ".secrets", {"throwaway-api.yaml": content})
    redactor = Redactor()

    with pytest.raises(SecretsInvalidError) as info:
        load_secrets(repo / ".secrets", redactor)

    assert expected in info.value.problems
    assert BAD not in str(info.value)
    assert redactor.redact(f"key {content['api_key']}") == "key ***"


def test_the_bootstrap_writes_the_venues_secret_and_never_prints_it(
    site: Path, station: Workstation
) -> None:
    write_secrets(
        station.repo / ".secrets", {"throwaway-api.yaml": {"account": "acct", "api_key": API_KEY}}
    )

    assert station.bootstrap() == 0, station.printed()

    secret = station.world.objects[("secret", names.NAMESPACE_APPS, "throwaway")]
    data = {key: base64.b64decode(value).decode() for key, value in secret["data"].items()}
    assert data == {"account": "acct", "api-key": API_KEY}
    near = station.world.objects[("secret", names.NAMESPACE_APPS, names.APPS_SECRET_NEAR_INTENTS)]
    assert list(near["data"]) == ["jwt", "solver_account_id", "signing_key"]
    assert API_KEY not in station.everything_written()


def _as_written_before(data: dict[str, str]) -> bytes:
    # The manifest the bootstrap rendered when it hard-coded NEAR's secrets (names.py keys).
    manifest = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": "near-intents",
            "namespace": "apps",
            "labels": {"app.kubernetes.io/managed-by": "unrip-bootstrap"},
        },
        "type": "Opaque",
        "data": {key: base64.b64encode(value.encode()).decode() for key, value in data.items()},
    }
    return json.dumps(manifest).encode()


def test_the_near_intents_secret_is_byte_identical_to_what_the_bootstrap_wrote_before(
    repo: Path,
) -> None:
    secrets = load_secrets(repo / ".secrets", Redactor())

    manifests = {m["metadata"]["name"]: m for m in app_secret_manifests(secrets)}

    full = {"jwt": JWT, "solver_account_id": "solver.near", "signing_key": SIGNING_KEY}
    assert json.dumps(manifests["near-intents"]).encode() == _as_written_before(full)
    (repo / ".secrets" / "venue-keys.yaml").unlink()
    without_keys = app_secret_manifests(load_secrets(repo / ".secrets", Redactor()))
    assert json.dumps(without_keys[0]).encode() == _as_written_before({"jwt": JWT})


def test_the_platforms_names_for_the_near_secret_are_the_venues_declaration() -> None:
    # The cluster's policies and the manifest tests read names.py; the bootstrap writes what
    # the venue declares: they must never drift apart.
    declared = {(f.secret, key) for f in near_secrets.SECRETS for key in f.keys}
    assert declared == {
        (names.APPS_SECRET_NEAR_INTENTS, names.APPS_SECRET_NEAR_INTENTS_JWT_KEY),
        (names.APPS_SECRET_NEAR_INTENTS, names.APPS_SECRET_NEAR_INTENTS_SOLVER_ACCOUNT_KEY),
        (names.APPS_SECRET_NEAR_INTENTS, names.APPS_SECRET_NEAR_INTENTS_SIGNING_KEY_KEY),
    }


def test_a_venue_that_cannot_be_loaded_is_a_problem_the_preflight_lists(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    known = registry.available()
    monkeypatch.setattr(registry, "available", lambda: {**known, "ghost": "nowhere.plugin:PLUGIN"})

    with pytest.raises(SecretsInvalidError) as info:
        load_secrets(repo / ".secrets", Redactor())

    assert info.value.problems == [
        "venue ghost: cannot be loaded to read its secret files (No module named 'nowhere')"
    ]


def test_a_venue_may_not_claim_a_file_or_a_secret_someone_else_owns(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def claim(filename: str, secret: str) -> SecretFile:
        return SecretFile(
            filename=filename,
            model=near_secrets.NearRelaySecrets,
            template=Path(filename),
            required=False,
            purpose="a clash",
            secret=secret,
            keys={"jwt": "jwt"},
        )

    tricky = VenuePlugin(
        name="tricky",
        secrets=(
            claim("hetzner.yaml", "tricky"),
            claim("near-relay.yaml", "tricky"),
            claim("a.yaml", names.APPS_SECRET_NEAR_INTENTS),
            claim("b.yaml", names.APPS_SECRET_COMMAND_SIGNING),
            claim("c.yaml", names.BUS_SECRET_PREFIX + "executor"),
            claim("fine.yaml", "tricky"),
        ),
    )
    known, load = registry.available(), registry.load
    monkeypatch.setattr(registry, "available", lambda: {**known, "tricky": "tricky:PLUGIN"})
    monkeypatch.setattr(registry, "load", lambda name: tricky if name == "tricky" else load(name))

    groups = discover()

    assert [group.filename for group in groups.venues][-1] == "fine.yaml"
    assert groups.problems == (
        "venue tricky: declares hetzner.yaml, which the platform already uses",
        "venue tricky: declares near-relay.yaml, which venue near_intents already uses",
        "venue tricky: a.yaml fills Secret near-intents, which venue near_intents writes",
        "venue tricky: b.yaml fills Secret command-signing, which the platform writes",
        "venue tricky: c.yaml fills Secret bus-executor, which the platform writes",
    )
    with pytest.raises(SecretsInvalidError) as info:
        load_secrets(repo / ".secrets", Redactor())
    assert info.value.problems == list(groups.problems)
