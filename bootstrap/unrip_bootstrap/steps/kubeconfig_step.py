"""The admin kubeconfig: fetched over SSH, pointed at the stable IP, written 0600, verified.

Verification is `kubectl get --raw /readyz` from the workstation: it proves the firewall lets
the operator in and the certificate matches the stable address. A kubeconfig that stopped
working (a rebuilt cluster has a new CA) is fetched again.
"""

from __future__ import annotations

import shlex
import stat

from unrip_bootstrap.clients.kube import KubeError
from unrip_bootstrap.clock import NotReadyError
from unrip_bootstrap.context import StepContext
from unrip_bootstrap.kubeconfig import (
    kubeconfig_secrets,
    rewrite_kubeconfig,
    server_of,
    write_private,
)
from unrip_bootstrap.steps.base import Check, StepFailedError


def kubeconfig_name(ctx: StepContext) -> str:
    return f"unrip-{ctx.options.stack}"


class KubeconfigStep:
    name = "kubeconfig"
    title = "fetch the kubeconfig (stable IP, mode 0600) and check /readyz"

    def check(self, ctx: StepContext, *, deep: bool) -> Check:
        outputs = ctx.hetzner()
        path = ctx.kubeconfig_path()
        if not path.is_file():
            return Check.pending("no kubeconfig yet", (f"fetch it to {path}",))
        text = path.read_text()
        for value in kubeconfig_secrets(text):
            ctx.secret(value)
        if stat.S_IMODE(path.stat().st_mode) != 0o600:
            return Check.pending(f"{path} is not mode 0600", ("rewrite it with mode 0600",))
        if server_of(text) != outputs.kube_api_endpoint:
            return Check.pending(
                f"{path} does not point at {outputs.kube_api_endpoint}", ("fetch it again",)
            )
        try:
            answer = ctx.kube().readyz()
        except KubeError as exc:
            return Check.pending(f"the kubeconfig does not work ({exc})", ("fetch it again",))
        if answer != "ok":
            return Check.pending(f"/readyz answered {answer!r}")
        return Check.converged(f"{path} works; API at {outputs.kube_api_endpoint} ready")

    def apply(self, ctx: StepContext) -> str:
        outputs = ctx.hetzner()
        result = ctx.ssh().run(f"cat {shlex.quote(outputs.kubeconfig_path)}", timeout_s=60)
        if not result.ok:
            raise StepFailedError(
                f"could not read {outputs.kubeconfig_path} on {outputs.server_name}: "
                f"{result.stderr.strip()}"
            )
        for value in kubeconfig_secrets(result.stdout):
            ctx.secret(value)
        text = rewrite_kubeconfig(
            result.stdout,
            old_server=outputs.kubeconfig_server_to_replace,
            new_server=outputs.kube_api_endpoint,
            name=kubeconfig_name(ctx),
        )
        path = ctx.kubeconfig_path()
        write_private(path, text)

        def api_ready() -> str:
            try:
                answer = ctx.kube().readyz()
            except KubeError as exc:
                raise NotReadyError(str(exc)) from None
            if answer != "ok":
                raise NotReadyError(f"/readyz answered {answer!r}")
            return answer

        ctx.wait(
            f"the API at {outputs.kube_api_endpoint} from this workstation (is this address in "
            "operator.yaml's cidrs?)",
            api_ready,
            ctx.options.timeouts.api_ready_s,
        )
        return f"kubeconfig written to {path} (0600); API at {outputs.kube_api_endpoint} ready"
