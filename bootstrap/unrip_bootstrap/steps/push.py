"""This repository into Forgejo: the workstation's HEAD becomes `main` there.

Never forced: if Forgejo's main has commits this checkout lacks (someone pushed there), the
push fails and says so, instead of throwing their work away.
"""

from __future__ import annotations

from unrip_platform import names

from unrip_bootstrap.context import StepContext
from unrip_bootstrap.steps.base import BlockedError, Check

ORG, REPO, BRANCH = names.FORGEJO_ORG, names.FORGEJO_REPO, "main"


class PushStep:
    name = "push"
    title = f"push this repository to Forgejo ({ORG}/{REPO}, {BRANCH})"

    def check(self, ctx: StepContext, *, deep: bool) -> Check:
        head = ctx.clients.git.head()
        with ctx.forgejo() as forgejo:
            if forgejo.get_repo(ORG, REPO) is None:
                raise BlockedError(f"repository {ORG}/{REPO} does not exist yet (forgejo step)")
            remote = forgejo.branch_head(ORG, REPO, BRANCH)
        if remote == head:
            return Check.converged(f"Forgejo's {BRANCH} is at {head[:12]}")
        have = remote[:12] if remote else "no commits"
        changes = [f"push {head[:12]} to {BRANCH} (Forgejo has {have})"]
        if ctx.clients.git.is_dirty():
            changes.append("note: uncommitted changes are not pushed; commit them first")
        return Check.pending(f"Forgejo's {BRANCH} is not this checkout's HEAD", tuple(changes))

    def apply(self, ctx: StepContext) -> str:
        git = ctx.clients.git
        head = git.head()
        if git.is_dirty():
            ctx.reporter.warn("uncommitted changes are not pushed; only commits are")
        with ctx.forgejo() as forgejo:
            git.push(
                f"{forgejo.root_url}{ORG}/{REPO}.git",
                f"HEAD:refs/heads/{BRANCH}",
                username=forgejo.username,
                password=ctx.secret(str(ctx.cluster_output("forgejo_admin_password"))),
            )
        return f"pushed {head[:12]} to {ORG}/{REPO} {BRANCH}"
