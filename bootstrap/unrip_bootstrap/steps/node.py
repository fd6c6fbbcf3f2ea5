"""Waiting for the server: SSH up, cloud-init's boot marker written, the API answering /readyz.

The node's setup script writes the boot marker once k3s is Ready, or a `.failed` marker naming
the step that failed; a failure is reported at once with the marker and the tail of
cloud-init's log, instead of waiting out the timeout.
"""

from __future__ import annotations

import shlex
from typing import Final

from unrip_platform.hetzner.outputs import HetznerStackOutputs

from unrip_bootstrap.clients.ssh import SSH_CONNECTION_FAILED, Ssh
from unrip_bootstrap.clock import NotReadyError
from unrip_bootstrap.context import StepContext
from unrip_bootstrap.steps.base import Check, StepFailedError

CLOUD_INIT_LOG: Final = "/var/log/cloud-init-output.log"
READY, FAILED, BOOTING = "ready", "failed", "booting"
_HOST_KEY_MISMATCH = ("Host key verification failed", "REMOTE HOST IDENTIFICATION HAS CHANGED")


def boot_state_command(outputs: HetznerStackOutputs) -> str:
    marker = shlex.quote(outputs.boot_marker_path)
    failed = shlex.quote(outputs.boot_failure_marker_path)
    return (
        f"if test -e {marker}; then echo {READY}; "
        f"elif test -e {failed}; then echo {FAILED}; else echo {BOOTING}; fi"
    )


def failure_report_command(outputs: HetznerStackOutputs) -> str:
    failed = shlex.quote(outputs.boot_failure_marker_path)
    return f"cat {failed}; echo '--- {CLOUD_INIT_LOG} (last lines)'; tail -n 25 {CLOUD_INIT_LOG}"


READYZ_COMMAND: Final = "k3s kubectl get --raw=/readyz"


def boot_state(ssh: Ssh, outputs: HetznerStackOutputs) -> str:
    """READY, FAILED or BOOTING; NotReadyError while SSH cannot connect (server starting)."""
    result = ssh.run(boot_state_command(outputs), timeout_s=40)
    if result.returncode == SSH_CONNECTION_FAILED:
        error = result.stderr.strip()
        if any(text in error for text in _HOST_KEY_MISMATCH):
            raise StepFailedError(
                f"the server at {outputs.server_ipv4} (server {outputs.server_id}) does not "
                "present the host key pinned at the first connection to it (.state/<stack>/"
                "known_hosts). Refusing to connect: this is not the server the stack created, "
                "or someone is in the middle. If you rebuilt it by hand outside Pulumi, delete "
                "known_hosts.server there to pin the new key."
            )
        raise NotReadyError(f"ssh: {error or 'no connection'}")
    if not result.ok:
        raise NotReadyError(f"ssh command exited {result.returncode}: {result.stderr.strip()}")
    state = result.stdout.strip()
    return state if state in (READY, FAILED) else BOOTING


def _api_ready(ssh: Ssh) -> str:
    result = ssh.run(READYZ_COMMAND, timeout_s=40)
    if result.ok and result.stdout.strip() == "ok":
        return "ok"
    raise NotReadyError(f"/readyz: {(result.stdout + result.stderr).strip() or 'no answer'}")


class NodeStep:
    name = "node"
    title = "wait for the server: SSH, cloud-init's boot marker, API /readyz"

    def check(self, ctx: StepContext, *, deep: bool) -> Check:
        outputs = ctx.hetzner()
        ssh = ctx.ssh()
        try:
            state = boot_state(ssh, outputs)
        except NotReadyError as exc:
            return Check.pending(f"{outputs.server_name} not reachable yet ({exc})")
        if state == FAILED:
            return Check.pending(
                f"{outputs.server_name}: node setup failed (see the failure marker)"
            )
        if state == BOOTING:
            return Check.pending(f"{outputs.server_name} is still booting")
        try:
            _api_ready(ssh)
        except NotReadyError as exc:
            return Check.pending(f"{outputs.server_name} booted, API not ready ({exc})")
        return Check.converged(f"{outputs.server_name} at {outputs.server_ipv4} booted, API ready")

    def apply(self, ctx: StepContext) -> str:
        outputs = ctx.hetzner()
        ssh = ctx.ssh()
        timeouts = ctx.options.timeouts

        def booted() -> str:
            state = boot_state(ssh, outputs)
            if state == FAILED:
                report = ssh.run(failure_report_command(outputs), timeout_s=40)
                raise StepFailedError(
                    f"node setup on {outputs.server_name} failed:\n{report.stdout.strip()}\n"
                    "Fix the cause (often the settings or the k3s version), then rebuild the "
                    "server: `invoke dr --scenario server-lost` after deleting it, or pulumi up "
                    "--replace (docs/infra-hetzner.md)."
                )
            if state != READY:
                raise NotReadyError("cloud-init is still running (no boot marker yet)")
            return state

        ctx.wait(f"boot of {outputs.server_name}", booted, timeouts.node_boot_s)
        ctx.wait("the API's /readyz on the node", lambda: _api_ready(ssh), timeouts.api_ready_s)
        return f"{outputs.server_name} at {outputs.server_ipv4} booted, API ready"
