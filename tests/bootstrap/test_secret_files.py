"""The secret templates and their validation: every key documented, every problem named by file
and key, no value ever echoed."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml
from unrip_bootstrap.redact import Redactor
from unrip_bootstrap.secret_files import SecretsInvalidError, load_secrets
from unrip_bootstrap.secret_groups import SecretGroup
from unrip_bootstrap.venue_secrets import discover

from tests.bootstrap.conftest import HCLOUD_TOKEN, JWT, write_secrets

pytestmark = pytest.mark.platform

TEMPLATES = Path(__file__).resolve().parents[2] / "secrets-templates"
# The platform's files and every built-in venue's (the registry, as the bootstrap sees it).
GROUPS = discover().all
# A key line of a template, set or commented out: `key:` or `# key:` at the top level.
KEY_LINE = re.compile(r"^(?:# )?([a-z][a-z0-9_]*):(?:\s|$)")


def template_keys(text: str) -> dict[str, int]:
    return {m[1]: n for n, line in enumerate(text.splitlines()) if (m := KEY_LINE.match(line))}


def template_of(group: SecretGroup) -> Path:
    return TEMPLATES / group.filename if group.declaration is None else group.declaration.template


@pytest.mark.parametrize("group", GROUPS, ids=lambda group: group.filename)
def test_every_key_of_every_group_is_in_its_template_with_a_comment_above(
    group: SecretGroup,
) -> None:
    text = template_of(group).read_text()
    keys = template_keys(text)
    lines = text.splitlines()

    assert set(keys) == set(group.model.model_fields)
    for key, line_number in keys.items():
        above = line_number - 1  # keys documented together share the comment above them
        while above >= 0 and KEY_LINE.match(lines[above]):
            above -= 1
        assert above >= 0 and lines[above].startswith("#"), f"{key} is not documented"


@pytest.mark.parametrize(
    "group", [g for g in GROUPS if g.declaration], ids=lambda group: group.filename
)
def test_secrets_templates_holds_an_unchanged_copy_of_each_builtin_venue_template(
    group: SecretGroup,
) -> None:
    # The operator copies secrets-templates/*.yaml: the venue's own template is the source.
    assert (TEMPLATES / group.filename).read_bytes() == template_of(group).read_bytes(), (
        f"copy {template_of(group)} to secrets-templates/"
    )


def test_the_readme_lists_every_template() -> None:
    readme = (TEMPLATES / "README.md").read_text()
    for group in GROUPS:
        assert f"`{group.filename}`" in readme


def test_unfilled_templates_are_reported_as_not_filled_in(tmp_path: Path) -> None:
    secrets = tmp_path / ".secrets"
    shutil.copytree(TEMPLATES, secrets)
    for path in secrets.iterdir():
        path.chmod(0o600)

    with pytest.raises(SecretsInvalidError) as info:
        load_secrets(secrets, Redactor())

    problems = "\n".join(info.value.problems)
    for name in ("pulumi-state.yaml", "hetzner.yaml", "ssh.yaml", "operator.yaml"):
        assert f"{name}: not filled in yet (still the template's <placeholder>)" in problems
    assert (
        "near-relay.yaml: not filled in yet (still the template's <placeholder>): jwt" in problems
    )


def test_a_missing_folder_says_where_the_templates_are(tmp_path: Path) -> None:
    with pytest.raises(SecretsInvalidError, match="copy secrets-templates/ there"):
        load_secrets(tmp_path / ".secrets", Redactor())


def test_venue_keys_are_optional(repo: Path) -> None:
    (repo / ".secrets" / "venue-keys.yaml").unlink()
    secrets = load_secrets(repo / ".secrets", Redactor())
    assert [declared.filename for declared, _ in secrets.venue_files] == ["near-relay.yaml"]


def test_the_relay_jwt_is_required(repo: Path) -> None:
    (repo / ".secrets" / "near-relay.yaml").unlink()
    with pytest.raises(SecretsInvalidError) as info:
        load_secrets(repo / ".secrets", Redactor())
    assert info.value.problems == [
        f"near-relay.yaml: missing (NEAR relay JWT); copy secrets-templates/near-relay.yaml to "
        f"{repo / '.secrets'}/ and fill it in"
    ]


BAD = "BadValueSentinel"


@pytest.mark.parametrize(
    ("filename", "content", "expected"),
    [
        (
            "hetzner.yaml",
            {"hcloud_token": BAD + "short"},
            "hetzner.yaml: hcloud_token: must be the 64 letters and digits of a Hetzner API token",
        ),
        (
            "hetzner.yaml",
            {"hcloud_token": HCLOUD_TOKEN, "settings": {"protectData": False}},
            "hetzner.yaml: settings: protectData: set by the bootstrap",
        ),
        (
            "hetzner.yaml",
            {"hcloud_token": HCLOUD_TOKEN, "hcloud_tokn": BAD},
            "hetzner.yaml: hcloud_tokn: unknown key (see the template for the keys this file",
        ),
        (
            "pulumi-state.yaml",
            {"backend_url": "ftp://x", "config_passphrase": BAD},
            "pulumi-state.yaml: backend_url: must start with one of file://",
        ),
        (
            "pulumi-state.yaml",
            {"s3_access_key_id": BAD},
            "pulumi-state.yaml: config_passphrase is required (or access_token for Pulumi Cloud",
        ),
        (
            "ssh.yaml",
            {"public_keys": ["ssh-ed25519 " + BAD + "!!"]},
            "ssh.yaml: public_keys: entry 0: the key body is not valid base64",
        ),
        (
            "ssh.yaml",
            {"public_keys": []},
            "ssh.yaml: public_keys: List should have at least 1 item",
        ),
        (
            "operator.yaml",
            {"cidrs": ["198.51.100.7/24", BAD]},
            "operator.yaml: cidrs: entry 0: host bits set; use the network address; "
            "entry 1: not an IP address or CIDR",
        ),
        (
            "near-relay.yaml",
            {"jwt": BAD + ".x.y"},
            "near-relay.yaml: jwt: must be a JWT: its first part does not decode to a JSON header",
        ),
        (
            "near-relay.yaml",
            {},
            "near-relay.yaml: jwt: required, but missing",
        ),
        (
            "venue-keys.yaml",
            {"solver_account_id": "Solver!", "signing_key": "ed25519:" + BAD + "0OIl"},
            "venue-keys.yaml: signing_key: the part after 'ed25519:' is not base58",
        ),
        (
            "venue-keys.yaml",
            {"solver_account_id": "Solver!", "signing_key": "ed25519:" + "1" * 40},
            "venue-keys.yaml: solver_account_id: not a NEAR account id (e.g. solver.near)",
        ),
    ],
)
def test_each_problem_is_named_by_file_and_key_without_its_value(
    repo: Path, filename: str, content: dict[str, object], expected: str
) -> None:
    write_secrets(repo / ".secrets", {filename: content})

    with pytest.raises(SecretsInvalidError) as info:
        load_secrets(repo / ".secrets", Redactor())

    message = str(info.value)
    assert expected in message
    assert BAD not in message


def test_a_signing_key_whose_halves_do_not_match_is_refused(repo: Path) -> None:
    import base58

    mismatched = "ed25519:" + base58.b58encode(bytes(range(64))).decode()
    write_secrets(
        repo / ".secrets",
        {"venue-keys.yaml": {"solver_account_id": "solver.near", "signing_key": mismatched}},
    )
    with pytest.raises(SecretsInvalidError, match="its public half does not match its seed"):
        load_secrets(repo / ".secrets", Redactor())


def test_broken_yaml_and_open_permissions_are_reported(repo: Path) -> None:
    relay = repo / ".secrets" / "near-relay.yaml"
    relay.write_text(f"jwt: {JWT}\n  bad: [indent\n")
    (repo / ".secrets" / "operator.yaml").chmod(0o644)

    with pytest.raises(SecretsInvalidError) as info:
        load_secrets(repo / ".secrets", Redactor())

    problems = info.value.problems
    assert any(p.startswith("near-relay.yaml: not valid YAML at line 2") for p in problems)
    assert "operator.yaml: readable by other users; run chmod 600 on it" in problems
    assert JWT not in str(info.value)


def test_the_private_key_file_must_exist_be_private_and_be_a_key(
    repo: Path, tmp_path: Path
) -> None:
    key = tmp_path / "not-a-key"
    key.write_text("hello")
    key.chmod(0o644)
    ssh = yaml.safe_load((repo / ".secrets" / "ssh.yaml").read_text())
    ssh["private_key_file"] = str(key)
    write_secrets(repo / ".secrets", {"ssh.yaml": ssh})

    with pytest.raises(SecretsInvalidError) as info:
        load_secrets(repo / ".secrets", Redactor())

    assert info.value.problems == [
        "ssh.yaml: private_key_file: readable by other users; ssh refuses it (chmod 600)",
        "ssh.yaml: private_key_file: not a private key file (no PRIVATE KEY header)",
    ]


def test_every_secret_value_is_registered_for_masking_even_when_invalid(repo: Path) -> None:
    redactor = Redactor()
    write_secrets(repo / ".secrets", {"near-relay.yaml": {"jwt": "Bearer " + JWT}})

    with pytest.raises(SecretsInvalidError):
        load_secrets(repo / ".secrets", redactor)

    assert redactor.redact(f"got Bearer {JWT} and {HCLOUD_TOKEN}") == "got *** and ***"
