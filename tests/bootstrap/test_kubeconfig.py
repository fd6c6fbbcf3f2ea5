"""The kubeconfig from the node, rewritten for the workstation and written privately."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import yaml
from unrip_bootstrap.kubeconfig import (
    KubeconfigError,
    kubeconfig_secrets,
    rewrite_kubeconfig,
    server_of,
    write_private,
)

pytestmark = pytest.mark.platform

K3S_YAML = """\
apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: Q0FEQVRB
    server: https://127.0.0.1:6443
  name: default
contexts:
- context: {cluster: default, user: default}
  name: default
current-context: default
users:
- name: default
  user:
    client-certificate-data: Q0VSVERBVEE=
    client-key-data: S0VZREFUQVNlbnRpbmVs
"""


def test_points_at_the_stable_address_and_names_everything_after_the_cluster() -> None:
    text = rewrite_kubeconfig(
        K3S_YAML,
        old_server="https://127.0.0.1:6443",
        new_server="https://203.0.113.10:6443",
        name="unrip-prod",
    )
    document = yaml.safe_load(text)

    assert server_of(text) == "https://203.0.113.10:6443"
    assert document["current-context"] == "unrip-prod"
    assert document["contexts"] == [
        {"name": "unrip-prod", "context": {"cluster": "unrip-prod", "user": "unrip-prod"}}
    ]
    assert document["clusters"][0]["cluster"]["certificate-authority-data"] == "Q0FEQVRB"
    assert document["users"][0]["user"]["client-key-data"] == "S0VZREFUQVNlbnRpbmVs"


def test_refuses_a_kubeconfig_whose_server_is_not_the_expected_one() -> None:
    with pytest.raises(KubeconfigError, match=r"no cluster with server https://127\.0\.0\.1:6443"):
        rewrite_kubeconfig(
            K3S_YAML.replace("127.0.0.1", "10.0.1.10"),
            old_server="https://127.0.0.1:6443",
            new_server="https://203.0.113.10:6443",
            name="x",
        )


@pytest.mark.parametrize("text", ["KeySentinelNotYaml: [", "- KeySentinel\n", "kind: Pod\n"])
def test_a_file_that_is_not_a_kubeconfig_is_refused_without_echoing_it(text: str) -> None:
    with pytest.raises(KubeconfigError) as info:
        rewrite_kubeconfig(text, old_server="a", new_server="b", name="c")
    assert "Sentinel" not in str(info.value)


def test_finds_the_key_material_to_mask() -> None:
    assert sorted(kubeconfig_secrets(K3S_YAML)) == ["Q0VSVERBVEE=", "S0VZREFUQVNlbnRpbmVs"]


def test_written_0600_even_over_an_open_file_and_under_an_open_umask(tmp_path: Path) -> None:
    path = tmp_path / "state" / "kubeconfig"
    path.parent.mkdir()
    path.write_text("old")
    path.chmod(0o644)
    previous = os.umask(0)
    try:
        write_private(path, "new")
    finally:
        os.umask(previous)

    assert path.read_text() == "new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["kubeconfig"]  # no temporary left
