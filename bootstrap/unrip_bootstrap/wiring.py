"""The real clients, assembled: what `invoke bootstrap` runs against."""

from __future__ import annotations

from pathlib import Path

from unrip_bootstrap.clients.deploy import DeployScript
from unrip_bootstrap.clients.forgejo import ForgejoClient
from unrip_bootstrap.clients.git import GitCli
from unrip_bootstrap.clients.kube import Kube, KubectlClient
from unrip_bootstrap.clients.process import SubprocessRunner
from unrip_bootstrap.clients.pulumi_stacks import AutomationStack, StackDriver
from unrip_bootstrap.clients.registry import RegistryClient
from unrip_bootstrap.clients.ssh import OpenSshClient, Ssh
from unrip_bootstrap.clock import SystemClock
from unrip_bootstrap.context import Clients
from unrip_bootstrap.options import BootstrapOptions
from unrip_bootstrap.secret_files import Secrets


def real_clients(options: BootstrapOptions) -> Clients:
    runner = SubprocessRunner()

    def stack(project: str, secrets: Secrets) -> StackDriver:
        env = secrets.pulumi.environment(options.default_backend)
        backend = env["PULUMI_BACKEND_URL"]
        if backend.startswith("file://"):
            Path(backend.removeprefix("file://")).mkdir(parents=True, exist_ok=True, mode=0o700)
        return AutomationStack(
            f"unrip-{project}",
            options.project_dir(project),
            options.stack,
            env,
            secrets_provider=secrets.pulumi.secrets_provider,
        )

    def ssh(
        host: str, user: str, known_hosts: Path, identity: Path | None, first_contact: bool
    ) -> Ssh:
        return OpenSshClient(
            host, user, known_hosts, runner, identity=identity, accept_new=first_contact
        )

    def kube(kubeconfig: Path) -> Kube:
        return KubectlClient(kubeconfig, runner)

    def forgejo(url: str, username: str, password: str) -> ForgejoClient:
        return ForgejoClient(url, username, password)

    return Clients(
        stack=stack,
        ssh=ssh,
        kube=kube,
        forgejo=forgejo,
        git=GitCli(options.repo_root, runner),
        deployer=DeployScript(options.repo_root, runner),
        runner=runner,
        clock=SystemClock(),
        registry=RegistryClient(),
    )
