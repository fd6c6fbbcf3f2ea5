"""Forgejo, set up through its API: the public organisation, the private repository, main's
branch protection, the Actions secrets the workflows read, and the runner online.

Main's protection is what the rollout's trust rests on (docs/decisions.md, "Rollout stays in
main's hands"): only the admin (the operator's account) may push or merge to ``main``, nobody
may force-push or delete it, so neither a collaborator nor a workflow's job token, which can
write to the repository, can put a commit there. The deploy agent refuses to deploy while the
rule is missing.

Actions secrets cannot be read back, so the bootstrap remembers a fingerprint of what it wrote
(`.state/`) and writes again when the value changed or the secret is gone (a rebuilt Forgejo).
The registry password is an access token of the admin, scoped to packages; Forgejo shows a
token only once, so it is replaced whenever the Actions secrets need it again.
"""

from __future__ import annotations

import base64
from typing import Any, Final

from unrip_platform import names

from unrip_bootstrap.clients.forgejo import ForgejoClient, ForgejoError
from unrip_bootstrap.clock import NotReadyError, WaitTimeoutError
from unrip_bootstrap.context import StepContext
from unrip_bootstrap.steps.base import Check

REGISTRY_TOKEN_NAME: Final = "unrip-ci-registry"  # noqa: S105 (a name)
REGISTRY_TOKEN_SCOPES: Final = ["write:package"]
ORG, REPO, BRANCH = names.FORGEJO_ORG, names.FORGEJO_REPO, "main"
ONLINE: Final = frozenset({"idle", "active"})


DEPLOYER_SECRET = f"{names.NAMESPACE_APPS}/{names.DEPLOYER_TOKEN_SECRET}"


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


def deployer_secrets(ctx: StepContext) -> dict[str, str]:
    """The deployer's token and the cluster CA, from `apps/deployer-token`; NotReadyError until
    Kubernetes has filled the Secret in (moments after the cluster step created it)."""
    live = ctx.kube().get("secret", names.NAMESPACE_APPS, names.DEPLOYER_TOKEN_SECRET)
    data = (live or {}).get("data") or {}
    if "token" not in data or "ca.crt" not in data:
        raise NotReadyError(f"Secret {DEPLOYER_SECRET} has no token yet")
    token = ctx.secret(base64.b64decode(data["token"]).decode())
    return {
        names.ACTIONS_SECRET_DEPLOYER_TOKEN: token,
        names.ACTIONS_SECRET_DEPLOYER_CA: base64.b64decode(data["ca.crt"]).decode(),
    }


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
    present = forgejo.list_actions_secrets(ORG, REPO) if repo is not None else set()
    try:
        deployer = deployer_secrets(ctx)
    except NotReadyError:
        changes.append(f"wait for Kubernetes to fill in {DEPLOYER_SECRET}, then store it")
        deployer = {}
    for name, value in deployer.items():
        if name not in present or not ctx.state.fingerprint_matches(name, value):
            changes.append(f"set Actions secret {name}")
    if not _registry_current(ctx, forgejo, present, _registry_tokens(forgejo)):
        changes.append(
            f"create access token {REGISTRY_TOKEN_NAME} and set Actions secrets "
            f"{names.ACTIONS_SECRET_REGISTRY_USER}, {names.ACTIONS_SECRET_REGISTRY_PASSWORD}"
        )
    return changes


def _registry_tokens(forgejo: ForgejoClient) -> list[dict[str, Any]]:
    """The admin's access tokens named REGISTRY_TOKEN_NAME."""
    return [t for t in forgejo.list_tokens() if t.get("name") == REGISTRY_TOKEN_NAME]


def _registry_current(
    ctx: StepContext, forgejo: ForgejoClient, present: set[str], tokens: list[dict[str, Any]]
) -> bool:
    """Whether both registry Actions secrets exist, a registry token backs them, and the user
    secret was written for this admin."""
    registry = {names.ACTIONS_SECRET_REGISTRY_USER, names.ACTIONS_SECRET_REGISTRY_PASSWORD}
    user_current = ctx.state.fingerprint_matches(
        names.ACTIONS_SECRET_REGISTRY_USER, forgejo.username
    )
    return registry <= present and bool(tokens) and user_current


class ForgejoStep:
    name = "forgejo"
    title = "organisation, repository, Actions secrets, runner online (Forgejo API)"

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
            f"organisation, repository and Actions secrets in place; runner {runner}"
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
            done += self._deployer_secrets(ctx, forgejo)
            done += self._registry_secrets(ctx, forgejo)
            try:
                ctx.wait(
                    "a runner with label " + names.FORGEJO_RUNNER_LABEL,
                    lambda: _online_or_not_yet(forgejo),
                    timeouts.runner_online_s,
                )
            except WaitTimeoutError as exc:
                ctx.reporter.warn(f"{exc}; the first delivery falls back to a direct apply")
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
    def _deployer_secrets(ctx: StepContext, forgejo: ForgejoClient) -> list[str]:
        present = forgejo.list_actions_secrets(ORG, REPO)
        written = []
        deployer = ctx.wait(
            f"the deployer token in {DEPLOYER_SECRET}",
            lambda: deployer_secrets(ctx),
            ctx.options.timeouts.platform_ready_s,
        )
        for name, value in deployer.items():
            if name in present and ctx.state.fingerprint_matches(name, value):
                continue
            forgejo.put_actions_secret(ORG, REPO, name, value)
            ctx.state.remember_fingerprint(name, value)
            written.append(name)
        return [f"set {', '.join(written)}"] if written else []

    @staticmethod
    def _registry_secrets(ctx: StepContext, forgejo: ForgejoClient) -> list[str]:
        user, password = names.ACTIONS_SECRET_REGISTRY_USER, names.ACTIONS_SECRET_REGISTRY_PASSWORD
        present = forgejo.list_actions_secrets(ORG, REPO)
        tokens = _registry_tokens(forgejo)
        if _registry_current(ctx, forgejo, present, tokens):
            return []
        for token in tokens:  # its value cannot be read back: replace it
            forgejo.delete_token(int(token["id"]))
        value = ctx.secret(forgejo.create_token(REGISTRY_TOKEN_NAME, REGISTRY_TOKEN_SCOPES))
        forgejo.put_actions_secret(ORG, REPO, user, forgejo.username)
        forgejo.put_actions_secret(ORG, REPO, password, value)
        ctx.state.remember_fingerprint(user, forgejo.username)
        return [f"new registry token; set {user}, {password}"]


def _online_or_not_yet(forgejo: ForgejoClient) -> bool:
    if runner_online(forgejo.list_runners()):
        return True
    raise NotReadyError("no runner connected")
