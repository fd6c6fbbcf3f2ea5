"""The pull-based deploy agent: build and deploy the head of protected ``main``, nothing else.

    python ci/agent.py --forgejo https://git.example --repository unrip/unrip \\
        --overlay hetzner-single-node [--interval 60] [--once] [--heartbeat FILE]

Why it exists (docs/decisions.md, "Rollout stays in main's hands"): in Forgejo Actions a branch
controls its own workflow file, so anything a workflow can reach, every branch can reach. The
agent runs in the cluster instead and holds the only credentials that change what runs there:

- ``UNRIP_AGENT_FORGEJO_TOKEN``: a read-only token for the repository (polls and fetches);
- ``UNRIP_REGISTRY_USER`` / ``UNRIP_REGISTRY_PASSWORD``: the registry push credential, given
  to ``ci/build.py`` only;
- the deployer identity: its pod's ServiceAccount (kubectl's in-cluster configuration) or
  ``UNRIP_DEPLOYER_TOKEN`` / ``UNRIP_DEPLOYER_CA_CRT``, given to ``ci/deploy.py`` only.

With ``UNRIP_AGENT_CREDENTIALS_DIR`` the first three are files there instead (``forgejo-token``,
``registry-user``, ``registry-password``: a mounted Secret), read again before every poll, so
tokens the bootstrap replaces take effect without a restart.

Each tick it asks Forgejo's API for main's head (cheap change detection), refuses to act while
``main`` has no branch protection, fetches ``refs/heads/main`` with git (the commit it deploys
is whatever git says main is, not what the API said), builds that commit with that commit's
``ci/build.py`` and deploys the printed digest with that commit's ``ci/deploy.py`` and
manifests. A commit is tried once: a failed build or a rolled-back deploy waits for the next
commit on main (or a restart) rather than flapping. Tokens go to git through its environment
(``GIT_CONFIG_*``), never on a command line. Exit codes for ``--once``: 0 deployed or nothing
to do; 1 the build or deploy failed; 2 bad input or Forgejo/git unreachable.
"""

from __future__ import annotations

import argparse
import base64
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import httpx

BRANCH = "main"
IMAGE = re.compile(r"^[^\s@]+@sha256:[0-9a-f]{64}$")
SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")
# What each child process may see of the agent's environment, beyond these prefixes.
# PYTHONPATH: in the cluster the agent's packages (PyYAML for deploy.py) live outside the image.
PASSED = (
    "PATH",
    "HOME",
    "LANG",
    "PYTHONPATH",
    "KUBERNETES_SERVICE_HOST",
    "KUBERNETES_SERVICE_PORT",
)
BUILD_ONLY = ("UNRIP_REGISTRY_", "UNRIP_IMAGE_REPOSITORY", "BUILDKIT_HOST")
DEPLOY_ONLY = ("UNRIP_DEPLOYER_", "UNRIP_KUBE_SERVER", "UNRIP_KUBECTL", "KUBECONFIG")

# Environment variable -> file of UNRIP_AGENT_CREDENTIALS_DIR (names.DEPLOY_AGENT_SECRET_*).
CREDENTIAL_FILES = {
    "UNRIP_AGENT_FORGEJO_TOKEN": "forgejo-token",
    "UNRIP_REGISTRY_USER": "registry-user",
    "UNRIP_REGISTRY_PASSWORD": "registry-password",
}

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class AgentError(Exception):
    """Forgejo or git could not be asked; nothing was built or applied."""


def say(message: str) -> None:
    print(f"agent: {message}", file=sys.stderr, flush=True)


def child_env(environ: Mapping[str, str], prefixes: Sequence[str]) -> dict[str, str]:
    """The part of the agent's environment one child needs: never the Forgejo token, and each
    of the registry and cluster credentials only to the script that uses it."""
    return {
        name: value
        for name, value in environ.items()
        if name in PASSED or any(name.startswith(prefix) for prefix in prefixes)
    }


class LiveEnvironment(Mapping[str, str]):
    """The agent's environment, with the credential files as they are at each read."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ

    def _current(self) -> dict[str, str]:
        current = dict(self.environ)
        directory = self.environ.get("UNRIP_AGENT_CREDENTIALS_DIR", "").strip()
        if directory:
            for name, file in CREDENTIAL_FILES.items():
                path = Path(directory, file)
                if path.is_file():
                    current[name] = path.read_text().strip()
        return current

    def __getitem__(self, name: str) -> str:
        return self._current()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._current())

    def __len__(self) -> int:
        return len(self._current())


@dataclass
class Forgejo:
    """The two read-only questions the agent asks Forgejo's API."""

    client: httpx.Client
    owner: str
    repo: str

    def _path(self, tail: str) -> str:
        return f"/api/v1/repos/{quote(self.owner)}/{quote(self.repo)}/{tail}"

    def head(self) -> str:
        try:
            response = self.client.get(self._path(f"branches/{BRANCH}"))
        except httpx.HTTPError as error:
            raise AgentError(f"Forgejo unreachable: {error}") from None
        if response.status_code != 200:
            raise AgentError(f"GET branches/{BRANCH}: HTTP {response.status_code}")
        sha = str(response.json()["commit"]["id"])
        if not SHA.match(sha):
            raise AgentError(f"branch {BRANCH}: {sha!r} is not a commit id")
        return sha

    def protected(self) -> bool:
        try:
            response = self.client.get(self._path(f"branch_protections/{BRANCH}"))
        except httpx.HTTPError as error:
            raise AgentError(f"Forgejo unreachable: {error}") from None
        if response.status_code == 404:
            return False
        if response.status_code != 200:
            raise AgentError(f"GET branch_protections/{BRANCH}: HTTP {response.status_code}")
        return True


@dataclass
class Git:
    """git against the repository's HTTP(S) remote, authenticated through the environment."""

    remote: str
    token: str
    executable: str = "git"

    def _env(self) -> dict[str, str]:
        env = child_env(os.environ, ())
        env["GIT_TERMINAL_PROMPT"] = "0"
        if self.token:
            basic = base64.b64encode(f"x-access-token:{self.token}".encode()).decode()
            env |= {
                "GIT_CONFIG_COUNT": "1",
                "GIT_CONFIG_KEY_0": "http.extraHeader",
                "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
            }
        return env

    def _run(self, directory: Path, *args: str) -> str:
        result = subprocess.run(
            [self.executable, "-C", str(directory), *args],
            capture_output=True,
            text=True,
            env=self._env(),
            check=False,
        )
        if result.returncode != 0:
            raise AgentError(f"git {args[0]} failed: {result.stderr.strip()[-500:]}")
        return result.stdout.strip()

    def checkout_main(self, directory: Path) -> str:
        """Fetch ``refs/heads/main`` into an empty directory, check it out, return its commit."""
        self._run(directory, "init", "-q", ".")
        self._run(directory, "fetch", "-q", "--depth=1", self.remote, f"refs/heads/{BRANCH}")
        sha = self._run(directory, "rev-parse", "FETCH_HEAD")
        self._run(directory, "checkout", "-q", "--detach", sha)
        return sha


Builder = Callable[[Path, str], str]
Deployer = Callable[[Path, str], int]


def run_script(checkout: Path, args: Sequence[str], env: dict[str, str]) -> tuple[int, str]:
    """Run one of the checked-out commit's ci/ scripts; (exit code, stdout). Its log is ours."""
    result = subprocess.run(
        [sys.executable, str(checkout / "ci" / args[0]), *args[1:]],
        cwd=checkout,
        stdout=subprocess.PIPE,
        stderr=None,
        text=True,
        env=env,
        check=False,
    )
    return result.returncode, result.stdout


def script_builder(environ: Mapping[str, str]) -> Builder:
    def build(checkout: Path, sha: str) -> str:
        code, out = run_script(
            checkout, ["build.py", "--revision", sha], child_env(environ, BUILD_ONLY)
        )
        image = out.strip().splitlines()[-1] if out.strip() else ""
        if code != 0 or not IMAGE.match(image):
            raise AgentError(f"build of {sha} failed (exit {code})")
        return image

    return build


def script_deployer(environ: Mapping[str, str], overlay: str, timeout_s: float) -> Deployer:
    def deploy(checkout: Path, image: str) -> int:
        args = ["deploy.py", "--image", image, "--overlay", overlay, "--timeout", str(timeout_s)]
        code, _ = run_script(checkout, args, child_env(environ, DEPLOY_ONLY))
        return code

    return deploy


@dataclass
class Agent:
    forgejo: Forgejo
    git: Git
    build: Builder
    deploy: Deployer
    tried: set[str] = field(default_factory=set)

    def tick(self) -> int:
        """One poll: build and deploy main's head if it is new. An exit code (see the top)."""
        head = self.forgejo.head()
        if head in self.tried:
            return EXIT_OK
        if not self.forgejo.protected():
            say(f"branch {BRANCH} has no branch protection: refusing to deploy {head[:12]}")
            return EXIT_USAGE
        with tempfile.TemporaryDirectory(prefix="unrip-agent-") as scratch:
            checkout = Path(scratch)
            sha = self.git.checkout_main(checkout)
            if sha in self.tried:
                return EXIT_OK
            self.tried.add(sha)
            say(f"main is at {sha[:12]}: building")
            try:
                image = self.build(checkout, sha)
            except AgentError as error:
                say(f"{error}; waiting for the next commit on {BRANCH}")
                return EXIT_FAILED
            say(f"deploying {image} ({sha[:12]})")
            code = self.deploy(checkout, image)
        if code != 0:
            say(f"deploy of {sha[:12]} failed (exit {code}); waiting for the next commit")
            return EXIT_FAILED
        say(f"deployed {sha[:12]} as {image}")
        return EXIT_OK


def use_token(agent: Agent, token: str) -> None:
    """The Forgejo token as it is now, for the API and for git. New credentials mean a new
    Forgejo or a recovery (docs/disaster-recovery.md): every commit may be tried again, so
    main's head is rebuilt into a registry that may have lost it."""
    if agent.git.token and token != agent.git.token:
        agent.tried.clear()
    headers = agent.forgejo.client.headers
    if token:
        headers["Authorization"] = f"token {token}"
    else:
        headers.pop("Authorization", None)
    agent.git.token = token


def beat(path: Path | None) -> None:
    """Show the agent is alive: a hung build or deploy stops the beat and the pod restarts."""
    if path is not None:
        path.touch()


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="agent.py", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--forgejo", required=True, help="Forgejo's base URL")
    parser.add_argument("--repository", required=True, help="owner/name")
    parser.add_argument("--overlay", required=True, help="a directory of manifests/overlays/")
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between polls")
    parser.add_argument("--timeout", type=float, default=480.0, help="deploy.py --timeout")
    parser.add_argument("--once", action="store_true", help="one poll, then exit")
    parser.add_argument(
        "--heartbeat",
        type=Path,
        help="a file touched before and after every poll (the pod's liveness probe reads it)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    owner, _, repo = args.repository.partition("/")
    if not owner or not repo:
        say(f"error: --repository {args.repository!r}: expected owner/name")
        return EXIT_USAGE
    base = args.forgejo.rstrip("/")
    environ = LiveEnvironment(os.environ)
    with httpx.Client(base_url=base, timeout=30.0) as client:
        agent = Agent(
            forgejo=Forgejo(client, owner, repo),
            git=Git(f"{base}/{owner}/{repo}.git", "", os.environ.get("UNRIP_GIT", "git")),
            build=script_builder(environ),
            deploy=script_deployer(environ, args.overlay, args.timeout),
        )
        while True:
            beat(args.heartbeat)
            use_token(agent, environ.get("UNRIP_AGENT_FORGEJO_TOKEN", "").strip())
            try:
                code = agent.tick()
            except AgentError as error:
                say(f"error: {error}")
                code = EXIT_USAGE
            beat(args.heartbeat)
            if args.once:
                return code
            time.sleep(args.interval)


if __name__ == "__main__":
    sys.exit(main())
