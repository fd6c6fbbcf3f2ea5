"""What every step works with: options, validated secrets, clients, and what earlier steps left.

Prerequisites (stack outputs, the kubeconfig, Forgejo's admin login) are looked up from the
live system when first needed, not passed from step to step, so `--from STEP` works in a new
process and after a disaster.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from unrip_platform import names
from unrip_platform.hetzner.outputs import HetznerStackOutputs

from unrip_bootstrap.clients.deploy import Deployer
from unrip_bootstrap.clients.forgejo import ForgejoClient
from unrip_bootstrap.clients.git import Git
from unrip_bootstrap.clients.kube import Kube
from unrip_bootstrap.clients.process import CommandRunner
from unrip_bootstrap.clients.pulumi_stacks import OutputEntry, StackDriver
from unrip_bootstrap.clients.registry import DigestResolver
from unrip_bootstrap.clients.ssh import Ssh
from unrip_bootstrap.clock import Clock, wait_for
from unrip_bootstrap.kubeconfig import write_private
from unrip_bootstrap.options import BootstrapOptions
from unrip_bootstrap.progress import Reporter
from unrip_bootstrap.redact import Redactor
from unrip_bootstrap.secret_files import Secrets
from unrip_bootstrap.state import StateStore
from unrip_bootstrap.steps.base import BlockedError

T = TypeVar("T")

HETZNER = "hetzner"
CLUSTER = "cluster"
# What a step that needs the validated secrets reports before preflight has validated them.
NO_SECRETS = "the secrets have not been validated (preflight)"


@dataclass(frozen=True)
class Clients:
    """Factories of the clients of the outside world (real ones in `wiring`, doubles in tests)."""

    stack: Callable[[str, Secrets], StackDriver]
    ssh: Callable[[str, str, Path, Path | None, bool], Ssh]
    kube: Callable[[Path], Kube]
    forgejo: Callable[[str, str, str], ForgejoClient]
    git: Git
    deployer: Deployer
    runner: CommandRunner
    clock: Clock
    registry: DigestResolver


class StepContext:
    def __init__(
        self,
        options: BootstrapOptions,
        clients: Clients,
        reporter: Reporter,
        redactor: Redactor,
        state: StateStore,
    ) -> None:
        self.options = options
        self.clients = clients
        self.reporter = reporter
        self.redactor = redactor
        self.state = state
        self.clock = clients.clock
        self._secrets: Secrets | None = None
        self._stacks: dict[str, StackDriver] = {}
        self._outputs: dict[str, dict[str, OutputEntry]] = {}

    def with_options(self, options: BootstrapOptions) -> StepContext:
        """The same session (secrets, redactor, state, reporter) with other options."""
        copy = StepContext(options, self.clients, self.reporter, self.redactor, self.state)
        copy._secrets = self._secrets
        return copy

    def wait(self, what: str, probe: Callable[[], T], timeout_s: float) -> T:
        """A bounded wait that shows what it sees whenever that changes."""
        return wait_for(
            what,
            probe,
            clock=self.clock,
            timeout_s=timeout_s,
            interval_s=self.options.timeouts.poll_s,
            on_retry=lambda seen: self.reporter.progress(f"waiting for {what}: {seen}"),
        )

    # --- secrets --------------------------------------------------------------------------------

    @property
    def secrets(self) -> Secrets:
        if self._secrets is None:
            raise BlockedError(NO_SECRETS)
        return self._secrets

    @secrets.setter
    def secrets(self, value: Secrets) -> None:
        self._secrets = value

    def secret(self, value: str) -> str:
        """Register a value read from the live system as a secret; returns it."""
        self.redactor.add(value)
        return value

    # --- Pulumi ---------------------------------------------------------------------------------

    def stack(self, project: str) -> StackDriver:
        if project not in self._stacks:
            self._stacks[project] = self.clients.stack(project, self.secrets)
        return self._stacks[project]

    def outputs(self, project: str) -> dict[str, OutputEntry]:
        """The stack's outputs; BlockedError if the stack was never brought up."""
        if project not in self._outputs:
            stack = self.stack(project)
            if not stack.exists():
                raise BlockedError(f"the {project} stack does not exist yet")
            outputs = stack.outputs()
            if not outputs:
                raise BlockedError(f"the {project} stack has no outputs yet")
            for entry in outputs.values():
                if entry.secret:
                    self.secret(str(entry.value))
            self._outputs[project] = outputs
        return self._outputs[project]

    def forget_outputs(self, project: str) -> None:
        self._outputs.pop(project, None)

    def hetzner(self) -> HetznerStackOutputs:
        try:
            return HetznerStackOutputs.from_outputs(self.outputs(HETZNER))
        except KeyError as exc:
            raise BlockedError(str(exc).strip("'\"")) from None

    def cluster_output(self, name: str) -> Any:
        outputs = self.outputs(CLUSTER)
        if name not in outputs:
            raise BlockedError(f"the cluster stack has no output {name}; run the cluster step")
        return outputs[name].value

    # --- the node and the cluster ---------------------------------------------------------------

    def ssh(self) -> Ssh:
        """SSH to the server, pinning its host key on first contact.

        The node makes its own host key at first boot (no private key travels in user data,
        which the metadata service serves). The first connection to each server, told apart
        by its Hetzner server id, records the key it presents (OpenSSH ``accept-new``); every
        later connection requires exactly that key and fails at once on another one. A
        rebuilt server has a new id, so its new key is pinned afresh.
        """
        outputs = self.hetzner()
        paths = self.options.state_paths
        server = str(outputs.server_id)
        pinned_for = (
            paths.known_hosts_server.read_text().strip()
            if paths.known_hosts_server.is_file()
            else None
        )
        if pinned_for != server or not paths.known_hosts.is_file():
            write_private(paths.known_hosts, "")
            write_private(paths.known_hosts_server, server + "\n")
        first_contact = not paths.known_hosts.read_text().strip()
        return self.clients.ssh(
            outputs.server_ipv4,
            outputs.ssh_user,
            paths.known_hosts,
            self.secrets.ssh_private_key,
            first_contact,
        )

    def kubeconfig_path(self) -> Path:
        return self.options.state_paths.kubeconfig

    def kube(self) -> Kube:
        path = self.kubeconfig_path()
        if not path.is_file():
            raise BlockedError("no kubeconfig yet (the kubeconfig step writes it)")
        return self.clients.kube(path)

    @contextlib.contextmanager
    def forgejo(self) -> Iterator[ForgejoClient]:
        """Forgejo's API as the admin, through a port-forward on its one URL."""
        username = str(self.cluster_output("forgejo_admin_username"))
        password = self.secret(str(self.cluster_output("forgejo_admin_password")))
        with (
            self.kube().port_forward(
                names.NAMESPACE_PLATFORM,
                names.FORGEJO_SERVICE,
                names.FORGEJO_REGISTRY_NODEPORT,
                names.FORGEJO_HTTP_PORT,
            ) as url,
            self.clients.forgejo(url, username, password) as client,
        ):
            yield client
