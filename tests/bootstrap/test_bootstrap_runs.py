"""`invoke bootstrap` against the fake world: a clean run, reruns that converge from a failure
at any step, a second run and a plan that change nothing, `--from`, preflight refusals."""

from __future__ import annotations

import base64
import re
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from unrip_platform import names

from tests.bootstrap.conftest import STEPS, Workstation, write_secrets
from tests.bootstrap.world import (
    AGENT_TOKEN,
    ENDPOINT,
    HOST_KEY_LINE,
    IMAGE_PREFIX,
    REGISTRY_TOKEN,
    World,
    fake_clients,
)

pytestmark = pytest.mark.platform

AGENT_SECRET = ("secret", names.NAMESPACE_DEPLOY, names.DEPLOY_AGENT_SECRET)


def agent_credentials(world: World) -> dict[str, str]:
    data = world.objects[AGENT_SECRET]["data"]
    return {key: base64.b64decode(value).decode() for key, value in data.items()}


def outcomes(printed: str) -> dict[str, str]:
    """Each step's outcome line: `[i/n] name: ...` followed by `<outcome> in <s> s: ...`."""
    found: dict[str, str] = {}
    current = None
    for line in printed.splitlines():
        if header := re.match(r"\[\d+/\d+\] ([a-z-]+):", line):
            current = header[1]
        elif current and (result := re.match(r"\s+(\w+(?: \w+)?) in [\d.]+ s", line)):
            found[current] = result[1]
        elif current and "FAILED after" in line:
            found[current] = "FAILED"
    return found


def test_a_clean_run_brings_up_everything_step_by_step_with_timings(station: Workstation) -> None:
    assert station.bootstrap() == 0
    printed = station.printed()

    assert list(outcomes(printed)) == list(STEPS)
    assert re.search(r"\[3/11\] node: .*\n(.*\n)*?\s+done in 10\.0 s", printed)
    assert "bootstrap converged in" in printed
    world = station.world
    assert world.node_ready and world.platform_up
    assert world.forgejo["org"]["visibility"] == "public"
    assert world.forgejo["repo"]["private"] is True
    assert world.forgejo["secrets"] == {}  # no workflow holds any credential
    assert world.forgejo["branch"] == station.git.head()
    assert "delivered by the deploy agent" in printed
    assert world.snapshot()["apps_images"] == [IMAGE_PREFIX]
    venue = world.objects[("secret", names.NAMESPACE_APPS, names.APPS_SECRET_NEAR_INTENTS)]
    assert set(venue["data"]) == {
        names.APPS_SECRET_NEAR_INTENTS_JWT_KEY,
        names.APPS_SECRET_NEAR_INTENTS_SOLVER_ACCOUNT_KEY,
        names.APPS_SECRET_NEAR_INTENTS_SIGNING_KEY_KEY,
    }


def test_only_the_admin_may_push_or_merge_to_main_after_a_run(station: Workstation) -> None:
    assert station.bootstrap() == 0
    rule = station.world.forgejo["protection"]
    assert rule["branch_name"] == "main"
    assert rule["enable_push_whitelist"] is True
    assert rule["push_whitelist_usernames"] == ["unrip-admin"]
    assert rule["push_whitelist_deploy_keys"] is False
    assert rule["merge_whitelist_usernames"] == ["unrip-admin"]
    assert rule["apply_to_admins"] is True


def test_a_weakened_protection_of_main_is_restored_by_the_next_run(
    converged: Workstation,
) -> None:
    rule = converged.world.forgejo["protection"]
    rule["push_whitelist_usernames"] = ["unrip-admin", "someone"]
    rule["enable_push_whitelist"] = False

    assert converged.bootstrap() == 0

    assert outcomes(converged.printed())["forgejo"] == "done"
    rule = converged.world.forgejo["protection"]
    assert rule["enable_push_whitelist"] is True
    assert rule["push_whitelist_usernames"] == ["unrip-admin"]


def test_the_kubeconfig_is_private_and_points_at_the_stable_address(station: Workstation) -> None:
    assert station.bootstrap() == 0
    path = station.options.state_paths.kubeconfig

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    document = yaml.safe_load(path.read_text())
    assert document["clusters"][0]["cluster"]["server"] == ENDPOINT
    assert document["current-context"] == "unrip-prod"


def test_an_open_or_stale_kubeconfig_is_rewritten_0600(converged: Workstation) -> None:
    path = converged.options.state_paths.kubeconfig
    path.write_text(path.read_text().replace(ENDPOINT, "https://127.0.0.1:6443"))
    path.chmod(0o644)

    assert converged.bootstrap() == 0

    assert outcomes(converged.printed())["kubeconfig"] == "done"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert yaml.safe_load(path.read_text())["clusters"][0]["cluster"]["server"] == ENDPOINT


def test_a_second_run_changes_nothing(converged: Workstation) -> None:
    before = list(converged.world.mutations)

    assert converged.bootstrap() == 0

    assert converged.world.mutations == before
    steps = outcomes(converged.printed())
    assert steps.pop("preflight") == "ok"
    assert set(steps.values()) == {"skipped"}, steps


def test_plan_on_an_empty_account_changes_nothing_and_lists_the_work(station: Workstation) -> None:
    assert station.bootstrap(plan=True) == 0

    printed = station.printed()
    assert station.world.mutations == []
    assert not station.options.state_paths.checkpoints.exists()
    assert "config: set hcloud:token (secret)" in printed
    assert outcomes(printed)["hetzner"] == "would change"
    assert outcomes(printed)["node"] == "would run"
    assert "nothing was changed" in printed


def test_plan_after_convergence_says_nothing_would_change(converged: Workstation) -> None:
    before = list(converged.world.mutations)
    checkpoints = converged.options.state_paths.checkpoints.read_text()

    assert converged.bootstrap(plan=True) == 0

    assert converged.world.mutations == before
    assert converged.options.state_paths.checkpoints.read_text() == checkpoints
    assert "everything has converged; nothing would change" in converged.printed()


def _fail(point: str, times: int = 1) -> Callable[[Workstation], None]:
    return lambda station: station.world.arm(point, times, "injected failure")


def _crash_a_pod(station: Workstation) -> None:
    station.world.crashing_pod = True


def _fix(station: Workstation) -> None:
    station.world.disarm()
    station.world.crashing_pod = False


def _new_commit(station: Workstation) -> None:
    _fix(station)
    station.git.current = "f1xed0" + "2" * 34


FAILURES: dict[str, tuple[Callable[[Workstation], None], Callable[[Workstation], None]]] = {
    "hetzner": (_fail("hetzner.up"), _fix),
    "node": (_fail("ssh.unreachable", 10_000), _fix),
    "kubeconfig": (_fail("kube.readyz", 10_000), _fix),
    "cluster": (_fail("cluster.up"), _fix),
    "app-secrets": (_fail("kube.apply"), _fix),
    "forgejo": (_fail("forgejo.POST"), _fix),
    "push": (_fail("git.push"), _fix),
    # A commit the agent failed to build is fixed by a new one; the rerun pushes, it delivers.
    "deliver": (_fail("agent"), _new_commit),
    "verify": (_crash_a_pod, _fix),
}


@pytest.mark.parametrize("step", list(FAILURES))
def test_a_failure_at_any_step_is_reported_and_a_rerun_converges(
    step: str, station: Workstation, tmp_path_factory: pytest.TempPathFactory
) -> None:
    inject, fix = FAILURES[step]
    inject(station)

    assert station.bootstrap() == 1

    failed_output = station.take_output()
    found = outcomes(failed_output)
    assert found[step] == "FAILED", failed_output
    assert all(found[earlier] in ("ok", "done") for earlier in STEPS[: STEPS.index(step)])
    assert f"step: {step}." in failed_output
    assert f"invoke bootstrap --from {step}" in failed_output
    assert station.checkpoints()["steps"][step]["status"] == "failed"
    assert station.checkpoints()["runs"][-1]["failed_step"] == step

    fix(station)
    assert station.bootstrap() == 0, station.printed()
    elsewhere = tmp_path_factory.mktemp("clean")
    assert station.world.snapshot() == converged_snapshot(station, elsewhere)
    assert station.world.forgejo["branch"] == station.git.head()

    station.take_output()
    settled = list(station.world.mutations)
    assert station.bootstrap() == 0
    assert station.world.mutations == settled


def converged_snapshot(station: Workstation, elsewhere: Path) -> dict[str, object]:
    """What a clean run of the same commit leaves behind, in a world of its own."""
    shutil.copytree(station.repo / ".secrets", elsewhere / ".secrets")
    world = World()
    clients, git, deployer = fake_clients(world)
    git.current = station.git.head()
    assert Workstation(elsewhere, world, clients, git, deployer).bootstrap() == 0
    return world.snapshot()


def test_from_resumes_at_a_step_without_checking_the_earlier_ones(station: Workstation) -> None:
    station.world.arm("git.push")
    assert station.bootstrap() == 1
    station.take_output()

    assert station.bootstrap(from_step="push") == 0

    printed = station.printed()
    found = outcomes(printed)
    assert [found[step] for step in STEPS[1:8]] == ["skipped"] * 7
    assert printed.count("skipped in 0.0 s: --from push") == 7
    assert found["push"] == "done"


def test_from_an_unknown_step_names_the_steps(station: Workstation) -> None:
    assert station.bootstrap(from_step="hetzner-up") == 2
    assert "unknown step 'hetzner-up'; steps: preflight, hetzner, node" in station.printed()
    assert station.world.mutations == []


def test_a_missing_pulumi_cli_is_named_with_how_to_install_it(station: Workstation) -> None:
    station.clients.runner.missing.add("pulumi")  # type: ignore[attr-defined]

    assert station.bootstrap() == 2

    printed = station.printed()
    assert "pulumi: not found on PATH; the Pulumi CLI is needed" in printed
    assert "https://www.pulumi.com/docs/iac/download-install/" in printed
    assert station.world.mutations == []


def test_invalid_secrets_stop_everything_before_any_change(station: Workstation) -> None:
    relay = station.repo / ".secrets" / "near-relay.yaml"
    relay.write_text("jwt: Bearer not-a-jwt-SecretLooking\n")
    (station.repo / ".secrets" / "operator.yaml").unlink()

    assert station.bootstrap() == 2

    printed = station.printed()
    assert "near-relay.yaml: jwt: paste the token without the 'Bearer ' prefix" in printed
    assert (
        "operator.yaml: missing (operator addresses); copy secrets-templates/operator.yaml"
        in printed
    )
    assert "not-a-jwt-SecretLooking" not in printed
    assert station.world.mutations == []


def test_hetzner_settings_are_checked_by_the_hetzner_project_before_any_change(
    station: Workstation,
) -> None:
    hetzner = station.repo / ".secrets" / "hetzner.yaml"
    content = yaml.safe_load(hetzner.read_text())
    content["settings"] = {"location": "mars1", "nodeCont": 2}
    hetzner.write_text(yaml.safe_dump(content))

    assert station.bootstrap() == 2

    printed = station.printed()
    assert "stack settings: unrip-hetzner:nodeCont: unknown setting" in printed
    assert "stack settings: unrip-hetzner:location: unknown location 'mars1'" in printed
    assert station.world.mutations == []


def test_the_host_key_is_pinned_on_first_contact(station: Workstation) -> None:
    assert station.bootstrap() == 0

    known_hosts = station.options.state_paths.known_hosts
    assert known_hosts.read_text().strip() == HOST_KEY_LINE
    assert stat.S_IMODE(known_hosts.stat().st_mode) == 0o600
    server = station.world.server
    assert server is not None
    pinned_for = station.options.state_paths.known_hosts_server.read_text().strip()
    assert pinned_for == str(server.server_id)


def test_a_server_with_another_host_key_is_refused_at_once(converged: Workstation) -> None:
    converged.world.presented_host_key = "203.0.113.10 ssh-ed25519 AAAAImpostorKey"

    assert converged.bootstrap(from_step="node") == 1

    printed = converged.printed()
    assert outcomes(printed)["node"] == "FAILED"
    assert "FAILED after 0.0 s" in printed  # no waiting out the timeout
    assert "does not present the host key pinned at the first connection" in printed


def test_a_rebuilt_server_has_its_new_host_key_pinned(converged: Workstation) -> None:
    converged.world.lose_server()
    converged.world.presented_host_key = "203.0.113.10 ssh-ed25519 AAAARebuiltServerKey"

    assert converged.bootstrap() == 0

    known_hosts = converged.options.state_paths.known_hosts
    assert known_hosts.read_text().strip() == converged.world.presented_host_key


def test_the_agent_gets_a_read_only_repository_token_and_the_push_token_as_its_secret(
    station: Workstation,
) -> None:
    assert station.bootstrap() == 0

    tokens = {t["name"]: t["scopes"] for t in station.world.forgejo["tokens"].values()}
    assert tokens == {
        "unrip-deploy-agent": ["read:repository"],
        "unrip-deploy-agent-registry": ["write:package"],
    }
    assert agent_credentials(station.world) == {
        names.DEPLOY_AGENT_SECRET_FORGEJO_TOKEN: AGENT_TOKEN,
        names.DEPLOY_AGENT_SECRET_REGISTRY_USER: "unrip-admin",
        names.DEPLOY_AGENT_SECRET_REGISTRY_PASSWORD: REGISTRY_TOKEN,
    }
    # The tokens reached Kubernetes through kubectl's stdin only, and were never printed.
    assert AGENT_TOKEN not in station.everything_written()


def test_an_upgrade_deletes_the_workflow_credentials_any_branch_could_read(
    converged: Workstation,
) -> None:
    forgejo = converged.world.forgejo
    forgejo["secrets"] = {name: "old" for name in names.RETIRED_ACTIONS_SECRETS}
    forgejo["tokens"][99] = {"name": "unrip-ci-registry", "scopes": ["write:package"]}

    assert converged.bootstrap() == 0

    assert forgejo["secrets"] == {}
    assert [t["name"] for t in forgejo["tokens"].values()] == [
        "unrip-deploy-agent",
        "unrip-deploy-agent-registry",
    ]
    printed = converged.printed()
    assert "delete Actions secret UNRIP_DEPLOYER_TOKEN (every branch could read it)" in printed
    assert "revoked access token unrip-ci-registry" in printed


def test_a_lost_agent_secret_gets_new_tokens_and_the_old_ones_revoked(
    converged: Workstation,
) -> None:
    del converged.world.objects[AGENT_SECRET]

    assert converged.bootstrap() == 0

    assert len(converged.world.forgejo["tokens"]) == 2  # replaced, not added to
    assert (
        agent_credentials(converged.world)[names.DEPLOY_AGENT_SECRET_FORGEJO_TOKEN] == AGENT_TOKEN
    )
    assert outcomes(converged.printed())["forgejo"] == "done"


def test_without_the_agent_the_first_delivery_fails_until_an_image_or_the_agent_exists(
    station: Workstation,
) -> None:
    station.world.agent_pod_fails = True

    assert station.bootstrap() == 1

    printed = station.take_output()
    assert outcomes(printed)["deliver"] == "FAILED"
    assert "the deploy agent is not running and the registry has no image yet" in printed
    assert "kubectl -n deploy logs deploy/deploy-agent -c agent" in printed
    assert "invoke bootstrap --from deliver" in printed

    station.world.agent_pod_fails = False
    assert station.bootstrap() == 0
    assert "delivered by the deploy agent" in station.printed()


def test_a_commit_the_agent_fails_to_build_fails_the_delivery_with_its_log_command(
    station: Workstation,
) -> None:
    station.world.arm("agent")

    assert station.bootstrap() == 1

    printed = station.printed()
    assert outcomes(printed)["deliver"] == "FAILED"
    assert "The agent tries each commit on main once" in printed
    assert "kubectl -n deploy logs deploy/deploy-agent -c agent" in printed
    assert station.deployer.calls == []  # no fallback to an older image behind its back


def test_without_the_agent_an_existing_image_is_applied_directly(station: Workstation) -> None:
    station.world.agent_pod_fails = True
    digest = "sha256:" + "ab" * 32
    station.world.forgejo["packages"] = [
        {
            "id": 7,
            "name": "unrip",
            "version": "0ld1mage",
            "created_at": "2025-12-01T00:00:00Z",
            "digest": digest,
        },
        {
            "id": 8,
            "name": "unrip",
            "version": digest,
            "created_at": "2025-12-02T00:00:00Z",
            "digest": digest,
        },
    ]

    # The apps are delivered; the verification still reports the agent that is not running.
    assert station.bootstrap() == 1

    printed = station.printed()
    assert station.deployer.calls == [
        (f"{names.IMAGE_REPOSITORY}@{digest}", names.OVERLAY_PRODUCTION)
    ]
    assert "direct apply of unrip:0ld1mage" in printed
    assert "the deploy agent is not running (deploy/deployment/deploy-agent)" in printed
    assert (outcomes(printed)["deliver"], outcomes(printed)["verify"]) == ("done", "FAILED")
    assert "deploy/deployment/deploy-agent: 0/1 replicas ready" in printed


def test_the_direct_apply_prefers_the_image_of_this_very_commit(station: Workstation) -> None:
    station.world.agent_pod_fails = True
    head, older = "sha256:" + "01" * 32, "sha256:" + "02" * 32
    station.world.forgejo["packages"] = [
        {
            "id": 1,
            "name": "unrip",
            "version": station.git.head(),
            "created_at": "2026-01-01",
            "digest": head,
        },
        {"id": 2, "name": "unrip", "version": "later", "created_at": "2026-02-01", "digest": older},
    ]

    assert station.bootstrap() == 1  # verify: the agent is not running

    assert station.deployer.calls == [(f"{names.IMAGE_REPOSITORY}@{head}", "hetzner-single-node")]


def test_without_venue_keys_the_secret_has_the_relay_jwt_only(station: Workstation) -> None:
    (station.repo / ".secrets" / "venue-keys.yaml").unlink()

    assert station.bootstrap() == 0

    secret = station.world.objects[("secret", names.NAMESPACE_APPS, names.APPS_SECRET_NEAR_INTENTS)]
    assert list(secret["data"]) == [names.APPS_SECRET_NEAR_INTENTS_JWT_KEY]


def test_archive_storage_becomes_the_archivers_secret_and_its_keys_are_never_printed(
    station: Workstation,
) -> None:
    write_secrets(
        station.repo / ".secrets",
        {
            "archive-storage.yaml": {
                "uri": "s3://unrip-archive/events",
                "endpoint": "https://fsn1.your-objectstorage.com",
                "region": "fsn1",
                "access_key": "ArchiveAccessSentinel",
                "secret_key": "ArchiveSecretSentinel",
            }
        },
    )

    assert station.bootstrap() == 0

    secret = station.world.objects[
        ("secret", names.NAMESPACE_APPS, names.APPS_SECRET_ARCHIVE_STORAGE)
    ]
    assert sorted(secret["data"]) == ["access_key", "endpoint", "region", "secret_key", "uri"]
    assert base64.b64decode(secret["data"]["secret_key"]) == b"ArchiveSecretSentinel"
    output = station.take_output()
    assert "ArchiveSecretSentinel" not in output and "ArchiveAccessSentinel" not in output


def test_without_archive_storage_there_is_no_archive_secret(station: Workstation) -> None:
    assert station.bootstrap() == 0
    key = ("secret", names.NAMESPACE_APPS, names.APPS_SECRET_ARCHIVE_STORAGE)
    assert key not in station.world.objects


def test_a_failed_direct_apply_is_retried_by_the_rerun(station: Workstation) -> None:
    station.world.agent_pod_fails = True
    digest = "sha256:" + "cd" * 32
    station.world.forgejo["packages"] = [
        {"id": 1, "name": "unrip", "version": "v1", "created_at": "2026-01-01", "digest": digest}
    ]
    station.world.arm("deploy", message="rollout of apps/executor timed out; rolled back")

    assert station.bootstrap() == 1
    assert "rollout of apps/executor timed out; rolled back" in station.take_output()

    assert station.bootstrap() == 1  # verify: the agent is not running
    assert outcomes(station.printed())["deliver"] == "done"
    assert len(station.deployer.calls) == 1


def test_the_command_signing_key_is_generated_once_and_kept(converged: Workstation) -> None:
    where = ("secret", names.NAMESPACE_APPS, names.APPS_SECRET_COMMAND_SIGNING)
    first = converged.world.objects[where]["data"][names.APPS_SECRET_COMMAND_SIGNING_KEY]
    assert len(base64.b64decode(first)) >= 32
    assert base64.b64decode(first).decode() not in converged.printed()

    assert converged.bootstrap() == 0
    assert converged.world.objects[where]["data"][names.APPS_SECRET_COMMAND_SIGNING_KEY] == first

    del converged.world.objects[where]
    assert converged.bootstrap() == 0
    again = converged.world.objects[where]["data"][names.APPS_SECRET_COMMAND_SIGNING_KEY]
    assert len(base64.b64decode(again)) >= 32 and again != first
