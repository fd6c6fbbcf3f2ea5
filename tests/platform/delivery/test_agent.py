"""The deploy agent (ci/agent.py): only protected main's head is built, and only its manifests
are applied, pinned to the digest built from it.

Forgejo's API is an httpx MockTransport answering the two routes the agent asks; the repository
is a real git repository (a bare "origin" with ``main`` and an untrusted branch); the cluster is
``fake_kubectl.py`` behind the real ``ci/deploy.py`` of the fetched commit, rendering with the
real ``kubectl kustomize``.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from unrip.cli import SERVICES
from unrip_platform import names
from unrip_platform.delivery import checks

pytestmark = pytest.mark.platform

TOKEN = "forgejo-read-token-31d9"
REAL_GIT = shutil.which("git") or "git"


def load_agent() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ci_agent", checks.ROOT / "ci" / "agent.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["ci_agent"] = module
    spec.loader.exec_module(module)
    return module


agent_module = load_agent()


def git(directory: Path, *args: str) -> str:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(directory), "GIT_CONFIG_NOSYSTEM": "1"}
    result = subprocess.run(
        [REAL_GIT, "-C", str(directory), "-c", "user.name=t", "-c", "user.email=t@t", *args],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return result.stdout.strip()


@dataclass
class Repository:
    """A work tree whose pushes land in the bare ``origin`` the agent fetches from."""

    work: Path
    origin: Path

    def commit(self, branch: str, marker: str) -> str:
        git(self.work, "checkout", "-q", "-B", branch)
        (self.work / "MARKER").write_text(marker)
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "-m", marker)
        git(self.work, "push", "-q", "--force", str(self.origin), f"{branch}:{branch}")
        return git(self.work, "rev-parse", "HEAD")


@dataclass
class FakeForgejo:
    """Forgejo's API as the agent sees it: main's head and whether main is protected."""

    head: str = ""
    protected: bool = True
    token: str = TOKEN
    requests: list[httpx.Request] = field(default_factory=list)

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.headers.get("authorization") != f"token {self.token}":
            return httpx.Response(401)
        match request.url.path:
            case "/api/v1/repos/unrip/unrip/branches/main":
                return httpx.Response(200, json={"name": "main", "commit": {"id": self.head}})
            case "/api/v1/repos/unrip/unrip/branch_protections/main":
                if self.protected:
                    return httpx.Response(200, json={"branch_name": "main"})
                return httpx.Response(404, json={"message": "not found"})
        return httpx.Response(404)


@dataclass
class Built:
    """What the builder saw: the commit it was asked for and the tree it was given."""

    sha: str
    marker: str


@pytest.fixture
def repository(tmp_path: Path) -> Repository:
    work, origin = tmp_path / "work", tmp_path / "origin.git"
    work.mkdir()
    shutil.copytree(checks.ROOT / "ci", work / "ci")
    shutil.copytree(checks.ROOT / "manifests", work / "manifests")
    git(work, "init", "-q", ".")
    subprocess.run([REAL_GIT, "init", "-q", "--bare", str(origin)], check=True)
    return Repository(work, origin)


@pytest.fixture
def git_log(tmp_path: Path) -> Path:
    """A ``git`` that records every command line and the header it was given, then runs git."""
    return tmp_path / "git-calls.jsonl"


@dataclass
class Harness:
    forgejo: FakeForgejo
    agent: Any
    builds: list[Built]
    deploys: list[tuple[str, str]]


def make_agent(
    tmp_path: Path, repository: Repository, git_log: Path, *, deploy: Any = None
) -> Iterator[Harness]:
    shim = tmp_path / "git-shim"
    shim.write_text(
        "#!/bin/sh\n"
        f'{sys.executable} -c \'import json,os,sys; print(json.dumps({{"argv": sys.argv[1:], '
        f'"header": os.environ.get("GIT_CONFIG_VALUE_0", "")}}))\' "$@" >> "{git_log}"\n'
        f'exec "{REAL_GIT}" "$@"\n'
    )
    shim.chmod(0o755)
    forgejo = FakeForgejo()
    builds: list[Built] = []
    deploys: list[tuple[str, str]] = []

    def build(checkout: Path, sha: str) -> str:
        builds.append(Built(sha, (checkout / "MARKER").read_text()))
        return f"{names.IMAGE_REPOSITORY}@sha256:{sha[:32] * 2}"

    def record_deploy(checkout: Path, image: str) -> int:
        deploys.append(((checkout / "MARKER").read_text(), image))
        return 0

    client = httpx.Client(
        base_url="http://forgejo.test",
        transport=httpx.MockTransport(forgejo.handle),
        headers={"Authorization": f"token {TOKEN}"},
    )
    agent = agent_module.Agent(
        forgejo=agent_module.Forgejo(client, "unrip", "unrip"),
        git=agent_module.Git(str(repository.origin), TOKEN, str(shim)),
        build=build,
        deploy=deploy or record_deploy,
    )
    yield Harness(forgejo, agent, builds, deploys)
    client.close()


@pytest.fixture
def harness(tmp_path: Path, repository: Repository, git_log: Path) -> Iterator[Harness]:
    yield from make_agent(tmp_path, repository, git_log)


def test_the_agent_deploys_mains_head_pinned_to_the_digest_built_from_it(
    tmp_path: Path, repository: Repository, git_log: Path
) -> None:
    state = tmp_path / "cluster.json"
    kubectl = tmp_path / "kubectl"
    fake = Path(__file__).with_name("fake_kubectl.py")
    kubectl.write_text(
        f'#!/bin/sh\nFAKE_KUBECTL_STATE="{state}" FAKE_KUBECTL_REAL="{shutil.which("kubectl")}" '
        f'exec "{sys.executable}" "{fake}" "$@"\n'
    )
    kubectl.chmod(0o755)
    (tmp_path / "kubeconfig").write_text("apiVersion: v1\nkind: Config\n")
    environ = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "UNRIP_KUBECTL": str(kubectl),
        "KUBECONFIG": str(tmp_path / "kubeconfig"),
        "UNRIP_AGENT_FORGEJO_TOKEN": TOKEN,
    }
    deployer = agent_module.script_deployer(environ, names.OVERLAY_PRODUCTION, 30.0)
    for harness in make_agent(tmp_path, repository, git_log, deploy=deployer):
        head = repository.commit("main", "main")
        harness.forgejo.head = head
        assert harness.agent.tick() == 0
        assert harness.builds == [Built(head, "main")]
    cluster = json.loads(state.read_text())
    images = {
        c["image"]
        for w in cluster["workloads"].values()
        for c in w["history"][str(w["revision"])]["spec"]["containers"]
    }
    assert images == {f"{names.IMAGE_REPOSITORY}@sha256:{head[:32] * 2}"}
    # Every service of the image runs (the ingest twice: quotes and prices).
    assert {key.rsplit("/", 1)[1] for key in cluster["workloads"]} >= set(SERVICES)
    # deploy.py ran with the deployer's kubeconfig, and the Forgejo token reached no call.
    assert {call["kubeconfig_path"] for call in cluster["calls"]} == {environ["KUBECONFIG"]}
    assert all(TOKEN not in json.dumps(call) for call in cluster["calls"])


def test_a_branch_is_never_built_even_when_the_api_names_its_commit(
    harness: Harness, repository: Repository
) -> None:
    main = repository.commit("main", "main")
    branch = repository.commit("feature", "untrusted branch")
    harness.forgejo.head = branch  # a race or a lying answer: git decides what main is
    assert harness.agent.tick() == 0
    assert harness.builds == [Built(main, "main")]
    assert harness.deploys == [("main", f"{names.IMAGE_REPOSITORY}@sha256:{main[:32] * 2}")]


def test_nothing_is_built_or_applied_while_main_is_unprotected(
    harness: Harness, repository: Repository
) -> None:
    harness.forgejo.head = repository.commit("main", "main")
    harness.forgejo.protected = False
    assert harness.agent.tick() == agent_module.EXIT_USAGE
    assert harness.builds == [] and harness.deploys == []
    harness.forgejo.protected = True
    assert harness.agent.tick() == 0
    assert len(harness.deploys) == 1


def test_each_commit_on_main_is_built_and_deployed_once(
    harness: Harness, repository: Repository
) -> None:
    first = repository.commit("main", "first")
    harness.forgejo.head = first
    assert harness.agent.tick() == 0
    assert harness.agent.tick() == 0
    second = repository.commit("main", "second")
    harness.forgejo.head = second
    assert harness.agent.tick() == 0
    assert [b.sha for b in harness.builds] == [first, second]
    assert [marker for marker, _ in harness.deploys] == ["first", "second"]


def test_a_failed_deploy_waits_for_the_next_commit_instead_of_flapping(
    tmp_path: Path, repository: Repository, git_log: Path
) -> None:
    outcomes = iter([1, 0])
    deploys: list[str] = []

    def deploy(checkout: Path, image: str) -> int:
        deploys.append((checkout / "MARKER").read_text())
        return next(outcomes)

    for harness in make_agent(tmp_path, repository, git_log, deploy=deploy):
        harness.forgejo.head = repository.commit("main", "broken")
        assert harness.agent.tick() == agent_module.EXIT_FAILED
        assert harness.agent.tick() == 0  # the same commit is not tried again
        harness.forgejo.head = repository.commit("main", "fixed")
        assert harness.agent.tick() == 0
    assert deploys == ["broken", "fixed"]


def test_the_forgejo_token_reaches_git_only_through_its_environment(
    harness: Harness, repository: Repository, git_log: Path
) -> None:
    harness.forgejo.head = repository.commit("main", "main")
    assert harness.agent.tick() == 0
    calls = [json.loads(line) for line in git_log.read_text().splitlines()]
    assert calls and all(TOKEN not in " ".join(call["argv"]) for call in calls)
    expected = base64.b64encode(f"x-access-token:{TOKEN}".encode()).decode()
    assert {call["header"] for call in calls} == {f"Authorization: Basic {expected}"}


def test_each_script_gets_only_its_own_credential() -> None:
    environ = {
        "PATH": "/usr/bin",
        "UNRIP_AGENT_FORGEJO_TOKEN": "f",
        "UNRIP_REGISTRY_PASSWORD": "r",
        "UNRIP_REGISTRY_USER": "u",
        "UNRIP_DEPLOYER_TOKEN": "d",
        "UNRIP_DEPLOYER_CA_CRT": "c",
        "AWS_SECRET_ACCESS_KEY": "x",
    }
    build = agent_module.child_env(environ, agent_module.BUILD_ONLY)
    deploy = agent_module.child_env(environ, agent_module.DEPLOY_ONLY)
    assert set(build) == {"PATH", "UNRIP_REGISTRY_PASSWORD", "UNRIP_REGISTRY_USER"}
    assert set(deploy) == {"PATH", "UNRIP_DEPLOYER_TOKEN", "UNRIP_DEPLOYER_CA_CRT"}


def test_in_the_cluster_both_scripts_find_the_agents_packages_and_the_in_cluster_api() -> None:
    # The agent's pod keeps PyYAML (deploy.py) outside the image, on PYTHONPATH, and kubectl
    # finds the API through the in-cluster variables and the projected token.
    environ = {
        "PATH": "/opt/agent/env/bin:/usr/bin",
        "PYTHONPATH": "/opt/agent/env/site",
        "KUBERNETES_SERVICE_HOST": "10.43.0.1",
        "KUBERNETES_SERVICE_PORT": "443",
        "UNRIP_AGENT_FORGEJO_TOKEN": "f",
    }
    deploy = agent_module.child_env(environ, agent_module.DEPLOY_ONLY)
    assert deploy == {k: v for k, v in environ.items() if k != "UNRIP_AGENT_FORGEJO_TOKEN"}


def test_every_poll_touches_the_heartbeat_the_liveness_probe_reads(tmp_path: Path) -> None:
    heartbeat = tmp_path / "heartbeat"
    # Forgejo unreachable: the poll fails (exit 2), yet the agent still shows it is alive.
    code = agent_module.main(
        [
            "--forgejo",
            "http://127.0.0.1:9",
            "--repository",
            "unrip/unrip",
            "--overlay",
            names.OVERLAY_PRODUCTION,
            "--once",
            "--heartbeat",
            str(heartbeat),
        ]
    )
    assert code == agent_module.EXIT_USAGE
    assert heartbeat.is_file()


def test_replaced_credential_files_take_effect_at_the_next_poll(tmp_path: Path) -> None:
    directory = tmp_path / "credentials"
    directory.mkdir()
    environ = agent_module.LiveEnvironment(
        {"PATH": "/usr/bin", "UNRIP_AGENT_CREDENTIALS_DIR": str(directory)}
    )
    for name, file in agent_module.CREDENTIAL_FILES.items():
        (directory / file).write_text(f"old-{name}\n")
    assert environ["UNRIP_AGENT_FORGEJO_TOKEN"] == "old-UNRIP_AGENT_FORGEJO_TOKEN"
    (directory / "registry-password").write_text("rotated\n")  # the bootstrap replaced it
    build = agent_module.child_env(environ, agent_module.BUILD_ONLY)
    assert build["UNRIP_REGISTRY_PASSWORD"] == "rotated"
    assert "UNRIP_AGENT_FORGEJO_TOKEN" not in build
    # The file names are the Secret's keys the bootstrap writes.
    assert set(agent_module.CREDENTIAL_FILES.values()) == {
        names.DEPLOY_AGENT_SECRET_FORGEJO_TOKEN,
        names.DEPLOY_AGENT_SECRET_REGISTRY_USER,
        names.DEPLOY_AGENT_SECRET_REGISTRY_PASSWORD,
    }


def test_new_credentials_let_the_agent_rebuild_a_commit_it_already_tried(
    harness: Harness, repository: Repository
) -> None:
    harness.forgejo.head = repository.commit("main", "main")
    assert harness.agent.tick() == 0
    agent_module.use_token(harness.agent, TOKEN)  # the same token: nothing changes
    assert harness.agent.tick() == 0
    assert len(harness.builds) == 1

    # A recovered Forgejo: the bootstrap wrote new tokens, and the registry may be empty.
    harness.forgejo.token = "a-new-token"
    agent_module.use_token(harness.agent, "a-new-token")
    assert harness.agent.tick() == 0
    assert len(harness.builds) == 2
