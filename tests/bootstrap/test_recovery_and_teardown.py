"""Disaster recovery (the four runbook scenarios), `invoke destroy` and `invoke status`."""

from __future__ import annotations

import shutil

import pytest
from unrip_bootstrap.recovery import parse_k3s_token
from unrip_bootstrap.steps.base import StepFailedError

from tests.bootstrap.conftest import STEPS, Workstation
from tests.bootstrap.test_bootstrap_runs import outcomes
from tests.bootstrap.world import K3S_TOKEN

pytestmark = pytest.mark.platform


def test_server_lost_rebuilds_the_server_on_the_same_volume_and_keeps_the_cluster(
    converged: Workstation,
) -> None:
    world = converged.world
    volume, objects = world.volume_id, dict(world.objects)
    world.lose_server()

    assert converged.dr("server-lost") == 0

    assert world.node_ready and world.volume_id == volume
    assert world.objects == objects  # datastore, Forgejo and Redpanda data came back as they were
    found = outcomes(converged.printed())
    assert found["hetzner"] == found["node"] == "done"
    assert found["cluster"] == found["forgejo"] == found["deliver"] == "skipped"


def test_an_ordinary_rerun_also_recovers_a_lost_server(converged: Workstation) -> None:
    converged.world.lose_server()
    assert converged.bootstrap() == 0
    assert converged.world.node_ready


def test_volume_lost_needs_a_server_rebuild_which_dr_does(converged: Workstation) -> None:
    world = converged.world
    world.lose_volume()

    assert converged.bootstrap() == 1  # the old server cannot mount a volume that is gone
    printed = converged.take_output()
    assert outcomes(printed)["node"] == "FAILED"
    assert "node setup on unrip-prod-node-0 failed" in printed

    assert converged.dr("volume-lost") == 0

    assert world.node_ready and world.platform_up
    assert world.configs["hetzner/prod"]["unrip-hetzner:applyServerChanges"].value == "true"
    assert outcomes(converged.printed())["kubeconfig"] == "done"  # a new cluster CA
    assert world.forgejo["branch"] == converged.git.head()
    assert world.forgejo["secrets"] == {}
    # The new Forgejo's tokens reach the agent: a fresh read-only one in its Secret.
    assert [t["scopes"] for t in world.forgejo["tokens"].values()] == [
        ["read:repository"],
        ["write:package"],
    ]
    assert "lost:      all cluster data" in converged.printed()

    converged.take_output()
    assert converged.bootstrap() == 0  # back to normal: no rebuilds by surprise
    assert world.configs["hetzner/prod"]["unrip-hetzner:applyServerChanges"].value == "false"


def test_forgejo_lost_sets_forgejo_up_again_and_redelivers(converged: Workstation) -> None:
    world = converged.world
    world.lose_forgejo()

    assert converged.dr("forgejo-lost") == 0

    assert world.forgejo["org"]["visibility"] == "public"
    assert world.forgejo["secrets"] == {}
    # The new Forgejo's tokens reach the agent: a fresh read-only one in its Secret.
    assert [t["scopes"] for t in world.forgejo["tokens"].values()] == [
        ["read:repository"],
        ["write:package"],
    ]
    assert world.forgejo["branch"] == converged.git.head()
    assert outcomes(converged.printed())["cluster"] == "done"


def test_cluster_token_lost_puts_the_volume_token_back_and_rebuilds(converged: Workstation) -> None:
    world = converged.world
    world.state_token = "WrongTokenFromAnOldStateBackup"
    world.lose_server()

    assert converged.bootstrap() == 1  # the new server's token does not open the datastore
    printed = converged.take_output()
    assert "bootstrap data already found and encrypted with different token" in printed

    assert converged.dr("cluster-token-lost") == 0

    assert world.state_token == K3S_TOKEN
    assert world.node_ready
    assert "the cluster token from the volume is back in the Pulumi state" in converged.printed()
    assert K3S_TOKEN not in converged.everything_written()


def test_cluster_token_recovery_refuses_to_write_back_a_state_it_could_not_decrypt(
    converged: Workstation,
) -> None:
    world = converged.world
    world.state_token = "WrongTokenFromAnOldStateBackup"
    world.wrong_passphrase = True

    assert converged.dr("cluster-token-lost") == 1

    assert "refusing to write the state back" in converged.printed()
    assert "hetzner.import-state" not in world.mutations
    assert world.state_token == "WrongTokenFromAnOldStateBackup"


def test_cluster_token_recovery_leaves_a_matching_token_alone(converged: Workstation) -> None:
    assert converged.dr("cluster-token-lost") == 0
    assert "already matches the volume's" in converged.printed()
    assert "hetzner.import-state" not in converged.world.mutations


def test_dr_does_nothing_unless_the_stack_name_is_typed(converged: Workstation) -> None:
    before = list(converged.world.mutations)

    assert converged.dr("volume-lost", answer="yes") == 1

    assert converged.world.mutations == before
    assert converged.answers == ["Type the stack name (prod) to recover it: "]
    assert "not confirmed; nothing was changed" in converged.printed()


def test_dr_names_the_scenarios_when_given_an_unknown_one(station: Workstation) -> None:
    assert station.dr("meteor") == 2
    assert "server-lost, volume-lost, forgejo-lost, cluster-token-lost" in station.printed()


@pytest.mark.parametrize(
    ("content", "token"),
    [
        (f"K10a1b2c3::server:{K3S_TOKEN}\n", K3S_TOKEN),
        (f"{K3S_TOKEN}\n", K3S_TOKEN),
    ],
)
def test_k3s_token_file_forms(content: str, token: str) -> None:
    assert parse_k3s_token(content) == token


def test_an_empty_token_file_is_an_error() -> None:
    with pytest.raises(StepFailedError, match="holds no token"):
        parse_k3s_token("K10abc::server:\n")


def test_destroy_keeps_the_volume_and_a_rerun_brings_the_cluster_back(
    converged: Workstation,
) -> None:
    world = converged.world
    volume, objects = world.volume_id, dict(world.objects)

    assert converged.destroy() == 0

    assert world.server is None and world.volume_id == volume and world.state_token == K3S_TOKEN
    assert "KEPT: the data volume" in converged.printed()
    assert converged.bootstrap() == 0
    assert world.node_ready and world.objects == objects


def test_destroy_with_delete_volume_lifts_protection_and_removes_everything(
    converged: Workstation,
) -> None:
    world = converged.world

    assert converged.destroy(delete_volume=True) == 0

    assert world.server is None and world.volume_id is None
    assert world.mutations[-4:] == [
        "cluster.remove",
        "hetzner.config:unrip-hetzner:protectData",
        "hetzner.up",
        "hetzner.destroy",
    ]
    assert not converged.options.state_paths.kubeconfig.exists()
    assert "INCLUDING the data volume" in converged.printed()


def test_destroy_does_nothing_unless_confirmed(converged: Workstation) -> None:
    before = list(converged.world.mutations)
    assert converged.destroy(delete_volume=True, answer="") == 1
    assert converged.world.mutations == before


def test_status_reports_every_layer_and_changes_nothing(converged: Workstation) -> None:
    before = list(converged.world.mutations)

    assert converged.status() == 0

    printed = converged.printed()
    for layer in STEPS:
        assert f"│ {layer}" in printed
    assert "last run" in printed and "converged" in printed
    assert converged.world.mutations == before


def test_status_of_an_empty_account_says_what_is_missing(station: Workstation) -> None:
    assert station.status() == 1
    printed = station.printed()
    assert "does not exist yet" in printed
    assert station.world.mutations == []


def test_status_shows_a_lost_server(converged: Workstation) -> None:
    converged.world.lose_server()
    assert converged.status() == 1
    assert "not reachable yet" in converged.printed()


def test_status_without_secrets_still_lists_every_layer_and_names_what_needs_them(
    station: Workstation,
) -> None:
    shutil.rmtree(station.repo / ".secrets")
    assert station.status() == 1
    printed = " ".join(station.printed().split())
    for layer in STEPS:
        assert f"│ {layer}" in station.printed()
    assert "needs" in printed and ".secrets/ filled in and valid (see preflight)" in printed
    assert "no kubeconfig yet" in printed  # layers that can tell say what they see
    assert station.world.mutations == []
