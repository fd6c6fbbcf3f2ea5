"""The operator's commands (`invoke bootstrap|status|destroy|dr`); tasks.py only parses flags.

Each returns a process exit code. `confirm` asks the operator a question and returns the
answer; destructive commands proceed only when the answer is the stack's name.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console

from unrip_bootstrap.clients.pulumi_stacks import ConfigEntry, describe_changes
from unrip_bootstrap.context import CLUSTER, HETZNER, Clients, StepContext
from unrip_bootstrap.engine import (
    EXIT_FAILED,
    EXIT_NOT_READY,
    EXIT_OK,
    Engine,
    UnknownStepError,
    describe_error,
)
from unrip_bootstrap.options import BootstrapOptions
from unrip_bootstrap.pipeline import all_steps
from unrip_bootstrap.progress import Reporter, configure_log_file, log
from unrip_bootstrap.recovery import SCENARIOS, recover_cluster_token
from unrip_bootstrap.redact import Redactor
from unrip_bootstrap.state import StateStore
from unrip_bootstrap.steps.base import Status
from unrip_bootstrap.steps.preflight import Preflight

Confirm = Callable[[str], str]


@contextmanager
def session(options: BootstrapOptions, clients: Clients, console: Console) -> Iterator[StepContext]:
    """A context for one command, logging (redacted) to `.state/<stack>/bootstrap.log`."""
    redactor = Redactor()
    handler = configure_log_file(options.state_paths.log, redactor)
    try:
        yield StepContext(
            options,
            clients,
            Reporter(console, redactor),
            redactor,
            StateStore(options.state_paths, redactor),
        )
    finally:
        log.removeHandler(handler)
        handler.close()


def bootstrap(
    options: BootstrapOptions,
    clients: Clients,
    console: Console,
    *,
    plan: bool = False,
    from_step: str | None = None,
    repin_images: bool = False,
) -> int:
    if repin_images:
        options = dataclasses.replace(options, repin_images=True)
    with session(options, clients, console) as ctx:
        engine = Engine(ctx, all_steps())
        try:
            return engine.plan(from_step=from_step) if plan else engine.run(from_step=from_step)
        except UnknownStepError as exc:
            ctx.reporter.error(str(exc))
            return EXIT_NOT_READY


def status(options: BootstrapOptions, clients: Clients, console: Console) -> int:
    with session(options, clients, console) as ctx:
        return Engine(ctx, all_steps()).status()


def _confirmed(ctx: StepContext, confirm: Confirm, action: str) -> bool:
    stack = ctx.options.stack
    answer = confirm(f"Type the stack name ({stack}) to {action}: ")
    if answer.strip() != stack:
        ctx.reporter.error("not confirmed; nothing was changed")
        return False
    return True


def _preflight_ok(ctx: StepContext) -> bool:
    check = Preflight().check(ctx, deep=False)
    if check.status != Status.CONVERGED:
        ctx.reporter.error("preflight failed; nothing was changed:")
        ctx.reporter.detail(check.detail)
        return False
    return True


def destroy(
    options: BootstrapOptions,
    clients: Clients,
    console: Console,
    *,
    delete_volume: bool,
    confirm: Confirm,
) -> int:
    with session(options, clients, console) as ctx:
        if not _preflight_ok(ctx):
            return EXIT_NOT_READY
        reporter = ctx.reporter
        reporter.heading(f"destroy stack {options.stack}:")
        if delete_volume:
            reporter.info(
                "  everything, INCLUDING the data volume, the stable IP and the cluster token: "
                "the executor ledger, Redpanda's log and Forgejo's repositories are gone for good"
            )
        else:
            reporter.info(
                "  servers, network, firewall and SSH keys; KEPT: the data volume, the stable IP "
                "and the cluster token (`invoke bootstrap` later brings the cluster back)"
            )
        if not _confirmed(ctx, confirm, "destroy it"):
            return EXIT_FAILED
        try:
            summary = _destroy(ctx, delete_volume=delete_volume)
        except Exception as exc:
            reporter.error("destroy failed: " + ctx.redactor.redact(describe_error(exc)))
            reporter.info("rerun `invoke destroy` to continue; it is safe to repeat")
            return EXIT_FAILED
        reporter.heading(summary)
        return EXIT_OK


def _destroy(ctx: StepContext, *, delete_volume: bool) -> str:
    hetzner = ctx.stack(HETZNER)
    if not hetzner.exists():
        return "nothing to destroy: the Hetzner stack does not exist"
    stream = ctx.reporter.stream
    if not delete_volume:
        changes = hetzner.destroy(exclude_protected=True, on_output=stream)
        return f"destroyed ({describe_changes(changes)}); volume, IP and token kept"
    cluster = ctx.stack(CLUSTER)
    if cluster.exists():
        # The cluster disappears with the server and the volume: drop its state, not its objects.
        cluster.remove()
    hetzner.set_config({"unrip-hetzner:protectData": ConfigEntry("false")})
    hetzner.up(refresh=True, on_output=stream)  # lifts the delete protections
    changes = hetzner.destroy(exclude_protected=False, on_output=stream)
    paths = ctx.options.state_paths
    paths.kubeconfig.unlink(missing_ok=True)
    paths.known_hosts.unlink(missing_ok=True)
    paths.known_hosts_server.unlink(missing_ok=True)
    ctx.state.forget_fingerprints()
    return f"destroyed everything ({describe_changes(changes)})"


def dr(
    options: BootstrapOptions,
    clients: Clients,
    console: Console,
    *,
    scenario: str,
    confirm: Confirm,
) -> int:
    chosen = SCENARIOS.get(scenario)
    if chosen is None:
        console.print(f"unknown scenario {scenario!r}; one of: {', '.join(SCENARIOS)}")
        return EXIT_NOT_READY
    with session(options, clients, console) as ctx:
        reporter = ctx.reporter
        reporter.heading(f"disaster recovery: {chosen.key}")
        reporter.info(f"  situation: {chosen.what_happened}")
        reporter.info(f"  recovered: {chosen.recovered}")
        reporter.info(f"  lost:      {chosen.lost}")
        if chosen.rebuild_servers:
            reporter.info("  the server is rebuilt (its user data changes)")
        if not _confirmed(ctx, confirm, "recover it"):
            return EXIT_FAILED
        if chosen.forget_fingerprints:
            ctx.state.forget_fingerprints()
        if chosen.recover_token:
            code = Engine(ctx, all_steps()[:2]).run()  # preflight, Hetzner: a server to read from
            if code != EXIT_OK:
                return code
            try:
                reporter.info(recover_cluster_token(ctx))
            except Exception as exc:
                reporter.error("token recovery failed: " + ctx.redactor.redact(describe_error(exc)))
                return EXIT_FAILED
        rebuild = dataclasses.replace(options, apply_server_changes=chosen.rebuild_servers)
        code = Engine(ctx.with_options(rebuild), all_steps()).run()
        if code == EXIT_OK and chosen.rebuild_servers:
            reporter.info(
                "the next `invoke bootstrap` turns applyServerChanges off again (no server "
                "rebuild; a config change only)"
            )
        log.info("dr %s finished with %s", chosen.key, code)
        return code
