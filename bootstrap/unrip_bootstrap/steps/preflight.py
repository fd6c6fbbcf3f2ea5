"""Before anything changes: the tools are there and new enough, and every secret is valid.

The Hetzner settings are validated by the Hetzner project's own settings model, the same code
`pulumi up` runs, so a bad address or key fails here instead of half-way through a run.
"""

from __future__ import annotations

from unrip_platform.hetzner.config import ConfigError, settings_from_config

from unrip_bootstrap.clients.git import GitError
from unrip_bootstrap.context import StepContext
from unrip_bootstrap.secret_files import Secrets, SecretsInvalidError, load_secrets
from unrip_bootstrap.steps.base import Check, StepFailedError
from unrip_bootstrap.steps.hetzner import hetzner_config
from unrip_bootstrap.tools import check_tools

HETZNER_PREFIX = "unrip-hetzner:"


class Preflight:
    name = "preflight"
    title = "tools, versions and secrets"

    def check(self, ctx: StepContext, *, deep: bool) -> Check:
        problems = check_tools(ctx.clients.runner)
        try:
            secrets = load_secrets(ctx.options.secrets_dir, ctx.redactor)
        except SecretsInvalidError as exc:
            problems.extend(f"secrets: {line}" for line in exc.problems)
        else:
            ctx.secrets = secrets
            problems.extend(_stack_settings_problems(ctx, secrets))
        try:
            ctx.clients.git.head()
        except GitError as exc:
            problems.append(f"git: {ctx.options.repo_root} has no commit to push ({exc})")
        if problems:
            return Check.blocked("\n".join(problems))
        return Check.converged(f"tools present, secrets valid ({_venue_files(ctx.secrets)})")

    def apply(self, ctx: StepContext) -> str:
        raise StepFailedError("preflight cannot fix anything; see the problems listed above")


def _venue_files(secrets: Secrets) -> str:
    # Which venue files this run writes, so a forgotten optional one (solver keys) shows.
    given = [declared.filename for declared, _values in secrets.venue_files]
    return "venue files: " + ", ".join(given) if given else "no venue files"


def _stack_settings_problems(ctx: StepContext, secrets: Secrets) -> list[str]:
    """The Hetzner stack config the bootstrap would set, checked by the Hetzner project."""
    config = hetzner_config(secrets, apply_server_changes=ctx.options.apply_server_changes)
    raw = {
        key.removeprefix(HETZNER_PREFIX): entry.value
        for key, entry in config.items()
        if key.startswith(HETZNER_PREFIX)
    }
    try:
        settings_from_config(raw, stack=ctx.options.stack)
    except ConfigError as exc:
        lines = str(exc).splitlines()[1:]
        return [f"stack settings: {line.strip()}" for line in lines]
    return []
