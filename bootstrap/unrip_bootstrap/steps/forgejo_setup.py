"""Forgejo, set up through its API: the public organisation, the private repository, main's
branch protection, the deploy agent's credentials, and the runner online.

Main's protection is what the rollout's trust rests on (docs/decisions.md, "Rollout stays in
main's hands"): only the admin (the operator's account) may push or merge to ``main``, nobody
may force-push or delete it, so neither a collaborator nor a workflow's job token, which can
write to the repository, can put a commit there. The deploy agent refuses to deploy while the
rule is missing.

The deploy agent (cluster project, namespace ``deploy``) gets two access tokens of the admin,
created here because they exist only once Forgejo runs: one scoped ``read:repository`` (it polls
and fetches main), one scoped ``write:package`` (the registry push). Both go into the Kubernetes
Secret ``deploy/deploy-agent-credentials`` through kubectl's stdin, never into a workflow: no
Actions secret exists any more, and the ones older bootstraps wrote (readable by any branch)
are deleted, as is their registry token. Forgejo shows a token only once, so both are replaced
together whenever the Secret is missing, incomplete or not what this bootstrap last wrote (a
fingerprint in `.state/`).
"""

from __future__ import annotations

import base64
from typing import Any, Final

from unrip_platform import names

from unrip_bootstrap.clients.forgejo import ForgejoClient, ForgejoError
from unrip_bootstrap.clock import NotReadyError, WaitTimeoutError
from unrip_bootstrap.context import StepContext
from unrip_bootstrap.steps.base import Check

AGENT_TOKEN_NAME: Final = "unrip-deploy-agent"  # noqa: S105 (a name)
AGENT_TOKEN_SCOPES: Final = ["read:repository"]
REGISTRY_TOKEN_NAME: Final = "unrip-deploy-agent-registry"  # noqa: S105 (a name)
REGISTRY_TOKEN_SCOPES: Final = ["write:package"]
# The registry token older bootstraps stored as an Actions secret, where any branch could read it.
RETIRED_TOKEN_NAMES: Final = ("unrip-ci-registry",)
ORG, REPO, BRANCH = names.FORGEJO_ORG, names.FORGEJO_REPO, "main"
ONLINE: Final = frozenset({"idle", "active"})
AGENT_SECRET: Final = f"{names.NAMESPACE_DEPLOY}/{names.DEPLOY_AGENT_SECRET}"
AGENT_SECRET_KEYS: Final = frozenset(
    {
        names.DEPLOY_AGENT_SECRET_FORGEJO_TOKEN,
        names.DEPLOY_AGENT_SECRET_REGISTRY_USER,
        names.DEPLOY_AGENT_SECRET_REGISTRY_PASSWORD,
    }
)
MANAGED_BY: Final = {"app.kubernetes.io/managed-by": "unrip-bootstrap"}


def main_protection(admin: str) -> dict[str, Any]:
    """Forgejo's branch protection settings for ``main``: the admin alone pushes and merges."""
    return {
        "rule_name": BRANCH,
        "enable_push": True,
        "enable_push_whitelist": True,
        "push_whitelist_usernames": [admin],
        "push_whitelist_deploy_keys": False,
        "enable_merge_whitelist": True,
        "merge_whitelist_usernames": [admin],
        "apply_to_admins": True,
        "block_on_rejected_reviews": True,
        "block_on_outdated_branch": True,
    }


def protection_current(live: dict[str, Any] | None, admin: str) -> bool:
    """Whether Forgejo's rule for main has every setting ``main_protection`` asks for."""
    if live is None:
        return False
    wanted = main_protection(admin)
    return all(live.get(key) == value for key, value in wanted.items() if key != "rule_name")


def agent_secret_manifest(forgejo_token: str, user: str, registry_password: str) -> dict[str, Any]:
    values = {
        names.DEPLOY_AGENT_SECRET_FORGEJO_TOKEN: forgejo_token,
        names.DEPLOY_AGENT_SECRET_REGISTRY_USER: user,
        names.DEPLOY_AGENT_SECRET_REGISTRY_PASSWORD: registry_password,
    }
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": names.DEPLOY_AGENT_SECRET,
            "namespace": names.NAMESPACE_DEPLOY,
            "labels": MANAGED_BY,
        },
        "type": "Opaque",
        "data": {key: base64.b64encode(value.encode()).decode() for key, value in values.items()},
    }


def _fingerprint_key(key: str) -> str:
    return f"{AGENT_SECRET}:{key}"


def agent_credentials_current(ctx: StepContext, forgejo: ForgejoClient) -> bool:
    """Whether the agent's Secret holds both tokens, written by this bootstrap for this admin,
    and both tokens still exist in Forgejo."""
    live = ctx.kube().get("secret", names.NAMESPACE_DEPLOY, names.DEPLOY_AGENT_SECRET)
    data = (live or {}).get("data") or {}
    if set(data) != AGENT_SECRET_KEYS:
        return False
    values = {key: ctx.secret(base64.b64decode(value).decode()) for key, value in data.items()}
    if values[names.DEPLOY_AGENT_SECRET_REGISTRY_USER] != forgejo.username:
        return False
    for key in (
        names.DEPLOY_AGENT_SECRET_FORGEJO_TOKEN,
        names.DEPLOY_AGENT_SECRET_REGISTRY_PASSWORD,
    ):
        if not ctx.state.fingerprint_matches(_fingerprint_key(key), values[key]):
            return False
    present = {str(token.get("name")) for token in forgejo.list_tokens()}
    return {AGENT_TOKEN_NAME, REGISTRY_TOKEN_NAME} <= present


def retired_actions_secrets(forgejo: ForgejoClient) -> list[str]:
    present = forgejo.list_actions_secrets(ORG, REPO)
    return [name for name in names.RETIRED_ACTIONS_SECRETS if name in present]


def retired_tokens(forgejo: ForgejoClient) -> list[dict[str, Any]]:
    return [t for t in forgejo.list_tokens() if t.get("name") in RETIRED_TOKEN_NAMES]


def runner_online(runners: list[dict[str, Any]]) -> bool:
    """Whether a runner with the workflows' label is connected."""
    label = names.FORGEJO_RUNNER_LABEL
    for runner in runners:
        labels = [str(item) for item in runner.get("labels") or []]
        matches = not labels or any(item.split(":", 1)[0] == label for item in labels)
        if matches and runner.get("status") in ONLINE:
            return True
    return False


def _missing_setup(ctx: StepContext, forgejo: ForgejoClient) -> list[str]:
    changes = []
    org = forgejo.get_org(ORG)
    if org is None:
        changes.append(f"create organisation {ORG} (public: the node pulls images anonymously)")
    elif org.get("visibility") != "public":
        changes.append(f"make organisation {ORG} public")
    repo = forgejo.get_repo(ORG, REPO) if org is not None else None
    if repo is None:
        changes.append(f"create repository {ORG}/{REPO} (private)")
    live = forgejo.get_branch_protection(ORG, REPO, BRANCH) if repo is not None else None
    if not protection_current(live, forgejo.username):
        changes.append(f"protect {BRANCH}: only {forgejo.username} pushes or merges")
    if repo is not None:
        for name in retired_actions_secrets(forgejo):
            changes.append(f"delete Actions secret {name} (every branch could read it)")
    for token in retired_tokens(forgejo):
        changes.append(f"revoke access token {token.get('name')} (it was an Actions secret)")
    if not agent_credentials_current(ctx, forgejo):
        changes.append(
            f"create access tokens {AGENT_TOKEN_NAME} (read:repository) and "
            f"{REGISTRY_TOKEN_NAME} (write:package); write Secret {AGENT_SECRET}"
        )
    return changes


class ForgejoStep:
    name = "forgejo"
    title = "organisation, repository, the deploy agent's credentials, runner online (Forgejo API)"

    def check(self, ctx: StepContext, *, deep: bool) -> Check:
        with ctx.forgejo() as forgejo:
            try:
                forgejo.version()
            except ForgejoError as exc:
                return Check.pending(f"Forgejo is not answering yet ({exc})")
            changes = _missing_setup(ctx, forgejo)
            runner = "online" if runner_online(forgejo.list_runners()) else "not online yet"
        if changes:
            return Check.pending(f"Forgejo needs setting up; runner {runner}", tuple(changes))
        return Check.converged(
            f"organisation, repository and the deploy agent's credentials in place; runner {runner}"
        )

    def apply(self, ctx: StepContext) -> str:
        timeouts = ctx.options.timeouts
        done: list[str] = []
        with ctx.forgejo() as forgejo:

            def answering() -> str:
                try:
                    return forgejo.version()
                except ForgejoError as exc:
                    raise NotReadyError(str(exc)) from None

            ctx.wait("Forgejo's API", answering, timeouts.platform_ready_s)
            done += self._organisation_and_repository(forgejo)
            done += self._protect_main(forgejo)
            done += self._retire_workflow_credentials(forgejo)
            done += self._agent_credentials(ctx, forgejo)
            try:
                ctx.wait(
                    "a runner with label " + names.FORGEJO_RUNNER_LABEL,
                    lambda: _online_or_not_yet(forgejo),
                    timeouts.runner_online_s,
                )
            except WaitTimeoutError as exc:
                ctx.reporter.warn(f"{exc}; CI runs wait until a runner connects")
            else:
                done.append("runner online")
        return "; ".join(done) or "nothing to change"

    @staticmethod
    def _organisation_and_repository(forgejo: ForgejoClient) -> list[str]:
        done = []
        org = forgejo.get_org(ORG)
        if org is None:
            forgejo.create_org(ORG, visibility="public")
            done.append(f"created organisation {ORG}")
        elif org.get("visibility") != "public":
            forgejo.set_org_visibility(ORG, "public")
            done.append(f"made organisation {ORG} public")
        if forgejo.get_repo(ORG, REPO) is None:
            forgejo.create_org_repo(
                ORG, REPO, private=True, description="unrip: platform and trading services"
            )
            done.append(f"created repository {ORG}/{REPO}")
        return done

    @staticmethod
    def _protect_main(forgejo: ForgejoClient) -> list[str]:
        branch = BRANCH
        live = forgejo.get_branch_protection(ORG, REPO, branch)
        if protection_current(live, forgejo.username):
            return []
        wanted = main_protection(forgejo.username)
        if live is None:
            forgejo.create_branch_protection(ORG, REPO, wanted)
        else:
            forgejo.edit_branch_protection(ORG, REPO, branch, wanted)
        return [f"protected {branch} (only {forgejo.username} pushes or merges)"]

    @staticmethod
    def _retire_workflow_credentials(forgejo: ForgejoClient) -> list[str]:
        """What older bootstraps gave the workflows, which every branch could read: gone."""
        done = []
        deleted = retired_actions_secrets(forgejo)
        for name in deleted:
            forgejo.delete_actions_secret(ORG, REPO, name)
        if deleted:
            done.append(f"deleted Actions secrets {', '.join(deleted)}")
        for token in retired_tokens(forgejo):
            forgejo.delete_token(int(token["id"]))
            done.append(f"revoked access token {token.get('name')}")
        return done

    @staticmethod
    def _agent_credentials(ctx: StepContext, forgejo: ForgejoClient) -> list[str]:
        if agent_credentials_current(ctx, forgejo):
            return []
        for token in forgejo.list_tokens():  # their values cannot be read back: replace them
            if token.get("name") in (AGENT_TOKEN_NAME, REGISTRY_TOKEN_NAME):
                forgejo.delete_token(int(token["id"]))
        read = ctx.secret(forgejo.create_token(AGENT_TOKEN_NAME, AGENT_TOKEN_SCOPES))
        push = ctx.secret(forgejo.create_token(REGISTRY_TOKEN_NAME, REGISTRY_TOKEN_SCOPES))
        ctx.kube().apply(agent_secret_manifest(read, forgejo.username, push))
        for key, value in (
            (names.DEPLOY_AGENT_SECRET_FORGEJO_TOKEN, read),
            (names.DEPLOY_AGENT_SECRET_REGISTRY_PASSWORD, push),
        ):
            ctx.state.remember_fingerprint(_fingerprint_key(key), value)
        return [
            f"new tokens {AGENT_TOKEN_NAME} (read:repository), {REGISTRY_TOKEN_NAME} "
            f"(write:package); wrote Secret {AGENT_SECRET}"
        ]


def _online_or_not_yet(forgejo: ForgejoClient) -> bool:
    if runner_online(forgejo.list_runners()):
        return True
    raise NotReadyError("no runner connected")
