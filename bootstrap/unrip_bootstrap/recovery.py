"""Disaster recovery: the four scenarios of docs/disaster-recovery.md, and the cluster-token
recovery that puts the token the surviving volume was encrypted with back into the state.

Every scenario ends in an ordinary bootstrap run: the steps re-check the live state and
rebuild what is missing (the Pulumi steps refresh first, so deleted servers are recreated).
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Any, Final

from unrip_platform.hetzner.cloud_init import K3S_DATA_DIR

from unrip_bootstrap.clients.ssh import SSH_CONNECTION_FAILED
from unrip_bootstrap.clock import NotReadyError
from unrip_bootstrap.context import HETZNER, StepContext
from unrip_bootstrap.steps.base import StepFailedError

# k3s keeps the token it was started with on the data volume, in its "secure" form
# K10<CA hash>::server:<token>.
VOLUME_TOKEN_FILE: Final = f"{K3S_DATA_DIR}/server/token"
TOKEN_RESOURCE_TYPE: Final = "random:index/randomPassword:RandomPassword"  # noqa: S105 (not a secret)
TOKEN_RESOURCE_NAME: Final = "unrip-k3s-token"  # noqa: S105 (not a secret)
# How `pulumi stack export --show-secrets` marks a secret value.
SECRET_SIG_KEY: Final = "4dabf18193072939515e22adb298388d"  # noqa: S105 (not a secret)
SECRET_SIG: Final = "1b47061264138c4ac30d75fd1eb44270"  # noqa: S105 (not a secret)


@dataclass(frozen=True)
class Scenario:
    key: str
    what_happened: str
    recovered: str
    lost: str
    rebuild_servers: bool  # apply changed user data (new volume id, recovered token)
    forget_fingerprints: bool  # Forgejo's tokens are gone: give the deploy agent new ones
    recover_token: bool


SCENARIOS: Final = {
    scenario.key: scenario
    for scenario in (
        Scenario(
            "server-lost",
            "the server is gone or broken; the data volume and the Pulumi state survive",
            "everything: the cluster's datastore, Redpanda's log (the executor ledger), "
            "Forgejo's repositories and registry all live on the volume",
            "the server's root disk (OS logs, the container image cache) and its IPv6 address",
            rebuild_servers=False,
            forget_fingerprints=False,
            recover_token=False,
        ),
        Scenario(
            "volume-lost",
            "the data volume is gone; the Pulumi state survives",
            "the infrastructure, the platform, Forgejo set up again, this checkout's HEAD "
            "pushed, the image rebuilt by the deploy agent, the apps redeployed",
            "all cluster data: Redpanda's topics (the executor ledger and every event), Forgejo's "
            "other repositories, issues, CI history and images; k3s secrets not in git",
            rebuild_servers=True,
            forget_fingerprints=True,
            recover_token=False,
        ),
        Scenario(
            "forgejo-lost",
            "Forgejo's data is gone (its volume claim deleted or corrupt); the rest is fine",
            "Forgejo itself (the cluster stack recreates it), its organisation, repository and "
            "the deploy agent's tokens; this checkout's HEAD; a rebuilt image",
            "whatever existed only in Forgejo: other branches and repositories, issues, CI "
            "history, older images (running pods keep their cached image)",
            rebuild_servers=False,
            forget_fingerprints=True,
            recover_token=False,
        ),
        Scenario(
            "cluster-token-lost",
            "the Pulumi state's k3s cluster token no longer matches the one the volume's "
            "datastore is encrypted with (state restored from an old backup, or the token "
            "resource replaced), so k3s refuses to start",
            "the token, read from the surviving volume over SSH into the state, then the "
            "server rebuilt with it: the whole cluster comes back as it was",
            "nothing, if the volume survives; without the volume see volume-lost",
            rebuild_servers=True,
            forget_fingerprints=False,
            recover_token=True,
        ),
    )
}


def parse_k3s_token(text: str) -> str:
    """The token itself from k3s's token file (`K10<hash>::server:<token>`, or just the token)."""
    value = text.strip()
    if value.startswith("K10") and "::" in value:
        _, _, credentials = value.partition("::")
        _, _, value = credentials.partition(":")
    if not value:
        raise StepFailedError(f"{VOLUME_TOKEN_FILE} on the volume holds no token")
    return value


def _secret_plaintext(value: Any) -> str:
    if isinstance(value, dict) and value.get(SECRET_SIG_KEY) == SECRET_SIG:
        return str(json.loads(value["plaintext"]))
    return str(value)


def _token_resource(deployment: dict[str, Any]) -> dict[str, Any]:
    for resource in deployment.get("resources") or []:
        if resource.get("type") == TOKEN_RESOURCE_TYPE and str(resource.get("urn", "")).endswith(
            f"::{TOKEN_RESOURCE_NAME}"
        ):
            found: dict[str, Any] = resource
            return found
    raise StepFailedError(
        f"the Hetzner stack's state has no {TOKEN_RESOURCE_NAME}; with the state lost entirely "
        "this scenario does not apply (docs/disaster-recovery.md)"
    )


def _secrets_in(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG:
            return [value]
        return [found for item in value.values() for found in _secrets_in(item)]
    if isinstance(value, list):
        return [found for item in value for found in _secrets_in(item)]
    return []


def _refuse_emptied_secrets(deployment: dict[str, Any]) -> None:
    """Some CLI versions export every secret as null when the passphrase is wrong instead of
    failing (pulumi/pulumi#23476); importing that would destroy them all."""
    if any(secret.get("plaintext") == "null" for secret in _secrets_in(deployment)):
        raise StepFailedError(
            "the exported state has empty secrets, so the passphrase in pulumi-state.yaml is "
            "probably not this stack's; refusing to write the state back"
        )


def read_volume_token(ctx: StepContext) -> str:
    """The token from the volume, over SSH (the server is up even when k3s is not)."""
    ssh = ctx.ssh()

    def read() -> str:
        result = ssh.run(f"cat {shlex.quote(VOLUME_TOKEN_FILE)}", timeout_s=40)
        if result.returncode == SSH_CONNECTION_FAILED:
            raise NotReadyError(f"ssh: {result.stderr.strip() or 'no connection'}")
        if not result.ok:
            raise StepFailedError(
                f"could not read {VOLUME_TOKEN_FILE} on the server (is the volume mounted?): "
                f"{result.stderr.strip()}"
            )
        ctx.secret(result.stdout.strip())
        return ctx.secret(parse_k3s_token(result.stdout))

    return ctx.wait("SSH to the server", read, ctx.options.timeouts.node_boot_s)


def recover_cluster_token(ctx: StepContext) -> str:
    """Put the volume's token into the Hetzner stack's state if it differs; say what was done."""
    token = read_volume_token(ctx)
    stack = ctx.stack(HETZNER)
    deployment = stack.export_state()
    for secret in _secrets_in(deployment):  # the whole state's secrets are in memory now
        ctx.secret(str(secret.get("plaintext", "")))
    resource = _token_resource(deployment)
    outputs = resource.setdefault("outputs", {})
    if ctx.secret(_secret_plaintext(outputs.get("result"))) == token:
        return "the state's cluster token already matches the volume's"
    _refuse_emptied_secrets(deployment)
    outputs["result"] = {
        SECRET_SIG_KEY: SECRET_SIG,
        "plaintext": json.dumps(token),
    }
    stack.import_state(deployment)
    return "the cluster token from the volume is back in the Pulumi state"
