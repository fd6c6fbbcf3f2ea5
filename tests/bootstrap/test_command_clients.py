"""What kubectl, ssh, git and the deploy script would be run with (recorded, not executed),
and the workstation's tool check."""

from __future__ import annotations

import base64
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from unrip_bootstrap.clients.deploy import DeployError, DeployScript
from unrip_bootstrap.clients.git import GitCli, GitError
from unrip_bootstrap.clients.kube import KubectlClient, KubeError
from unrip_bootstrap.clients.process import CommandResult, SubprocessRunner, ToolMissingError
from unrip_bootstrap.clients.ssh import OpenSshClient
from unrip_bootstrap.steps.forgejo_setup import agent_secret_manifest
from unrip_bootstrap.tools import TOOLS, check_tools
from unrip_platform import names

pytestmark = pytest.mark.platform


@dataclass
class Call:
    argv: list[str]
    stdin: str | None
    env: dict[str, str]
    cwd: Path | None


@dataclass
class RecordingRunner:
    """Records each command; answers from a queue (default: success, empty output)."""

    answers: list[CommandResult] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)

    def run(
        self,
        argv: Sequence[str],
        *,
        stdin: str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        timeout_s: float | None = None,
    ) -> CommandResult:
        self.calls.append(Call(list(argv), stdin, dict(env or {}), cwd))
        return self.answers.pop(0) if self.answers else CommandResult(0, "", "")


KUBECONFIG = Path("/ws/.state/prod/kubeconfig")


def test_kubectl_applies_secrets_from_stdin_never_from_the_command_line() -> None:
    runner = RecordingRunner()
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "near-intents", "namespace": "apps"},
        "data": {"UNRIP_NEAR_INTENTS_JWT": base64.b64encode(b"jwt-Sentinel").decode()},
    }

    KubectlClient(KUBECONFIG, runner).apply(secret)

    (call,) = runner.calls
    assert call.argv == [
        "kubectl", "--kubeconfig", str(KUBECONFIG),
        "apply", "--server-side", "--field-manager", "unrip-bootstrap", "--filename", "-",
    ]  # fmt: skip
    assert json.loads(call.stdin or "") == secret
    assert not any("U2VudGluZWw" in arg or "Sentinel" in arg for arg in call.argv)


def test_the_deploy_agents_tokens_reach_kubectl_on_stdin_only() -> None:
    runner = RecordingRunner()
    manifest = agent_secret_manifest("read-Sentinel", "unrip-admin", "push-Sentinel")

    KubectlClient(KUBECONFIG, runner).apply(manifest)

    (call,) = runner.calls
    assert not any("Sentinel" in arg or "U2VudGluZWw" in arg for arg in call.argv)
    sent = json.loads(call.stdin or "")
    assert (sent["metadata"]["namespace"], sent["metadata"]["name"]) == (
        names.NAMESPACE_DEPLOY,
        names.DEPLOY_AGENT_SECRET,
    )
    assert (
        base64.b64decode(sent["data"][names.DEPLOY_AGENT_SECRET_FORGEJO_TOKEN]) == b"read-Sentinel"
    )


def test_kubectl_get_returns_none_for_a_missing_object_and_raises_on_other_errors() -> None:
    runner = RecordingRunner(
        [
            CommandResult(1, "", 'Error from server (NotFound): secrets "x" not found'),
            CommandResult(1, "", "Unable to connect to the server: dial tcp: i/o timeout"),
            CommandResult(0, '{"kind": "Namespace"}', ""),
        ]
    )
    kube = KubectlClient(KUBECONFIG, runner)

    assert kube.get("secret", "apps", "x") is None
    with pytest.raises(KubeError, match="i/o timeout"):
        kube.get("secret", "apps", "x")
    assert kube.get("namespace", "", "apps") == {"kind": "Namespace"}

    assert runner.calls[0].argv[3:] == [
        "get",
        "secret",
        "x",
        "--namespace",
        "apps",
        "--output",
        "json",
    ]
    assert runner.calls[2].argv[3:] == ["get", "namespace", "apps", "--output", "json"]


def test_kubectl_readyz_rollout_and_port_forward_commands() -> None:
    runner = RecordingRunner([CommandResult(0, "ok\n", "")])
    kube = KubectlClient(KUBECONFIG, runner)

    assert kube.readyz() == "ok"
    kube.rollout_status("deployment", "apps", "executor", 600)

    assert runner.calls[0].argv[3:] == ["get", "--raw", "/readyz"]
    assert runner.calls[1].argv[3:] == [
        "rollout", "status", "deployment/executor", "--namespace", "apps", "--timeout=600s",
    ]  # fmt: skip
    assert kube.port_forward_argv("platform", "forgejo-http", 30300, 3000)[3:] == [
        "port-forward", "--namespace", "platform", "--address", "127.0.0.1",
        "svc/forgejo-http", "30300:3000",
    ]  # fmt: skip


def test_ssh_checks_the_host_key_strictly_and_never_prompts() -> None:
    runner = RecordingRunner()
    known = Path("/ws/.state/prod/known_hosts")
    OpenSshClient("203.0.113.10", "root", known, runner, identity=Path("/k/id")).run("uptime")

    argv = runner.calls[0].argv
    options = {argv[i + 1] for i, arg in enumerate(argv) if arg == "-o"}
    assert {
        "BatchMode=yes",
        "StrictHostKeyChecking=yes",
        f"UserKnownHostsFile={known}",
        "GlobalKnownHostsFile=/dev/null",
        "IdentitiesOnly=yes",
    } <= options
    assert argv[argv.index("-i") + 1] == "/k/id"
    assert argv[-3:] == ["root@203.0.113.10", "--", "uptime"]


def test_first_contact_records_an_unknown_key_but_never_accepts_a_changed_one() -> None:
    runner = RecordingRunner()
    known = Path("/ws/.state/prod/known_hosts")
    OpenSshClient("203.0.113.10", "root", known, runner, accept_new=True).run("uptime")

    argv = runner.calls[0].argv
    options = {argv[i + 1] for i, arg in enumerate(argv) if arg == "-o"}
    assert {"BatchMode=yes", "StrictHostKeyChecking=accept-new"} <= options


def test_ssh_without_a_key_file_uses_the_agent() -> None:
    runner = RecordingRunner()
    OpenSshClient("h", "root", Path("/kh"), runner).run("true")
    assert "-i" not in runner.calls[0].argv
    assert "IdentitiesOnly=yes" not in runner.calls[0].argv


def test_git_push_passes_credentials_in_its_environment_only() -> None:
    runner = RecordingRunner()
    url = "http://127.0.0.1:30300/unrip/unrip.git"

    GitCli(Path("/ws"), runner).push(
        url, "HEAD:refs/heads/main", username="admin", password="pw-Sentinel"
    )

    (call,) = runner.calls
    assert call.argv == ["git", "-C", "/ws", "push", "--porcelain", url, "HEAD:refs/heads/main"]
    assert not any("pw-Sentinel" in arg for arg in call.argv)
    assert call.env["GIT_CONFIG_KEY_0"] == f"http.{url}.extraHeader"
    header = call.env["GIT_CONFIG_VALUE_0"].removeprefix("Authorization: Basic ")
    assert base64.b64decode(header) == b"admin:pw-Sentinel"
    assert call.env["GIT_TERMINAL_PROMPT"] == "0"


def test_a_rejected_push_says_why() -> None:
    runner = RecordingRunner([CommandResult(1, "", "! [rejected] HEAD -> main (fetch first)")])
    with pytest.raises(GitError, match="fetch first"):
        GitCli(Path("/ws"), runner).push("u", "r", username="a", password="b")


def test_the_deploy_script_is_called_as_the_delivery_contract_says(tmp_path: Path) -> None:
    (tmp_path / "ci").mkdir()
    (tmp_path / names.DEPLOY_SCRIPT).write_text("")
    runner = RecordingRunner()
    image = f"{names.IMAGE_REPOSITORY}@sha256:{'e' * 64}"

    DeployScript(tmp_path, runner, python="/py").deploy(
        image, "hetzner-single-node", KUBECONFIG, 300
    )

    (call,) = runner.calls
    assert call.argv == [
        "/py", "ci/deploy.py", "--image", image, "--overlay", "hetzner-single-node",
        "--timeout", "300", "--operator",
    ]  # fmt: skip
    assert call.env == {"KUBECONFIG": str(KUBECONFIG)}
    assert call.cwd == tmp_path


def test_a_missing_deploy_script_or_a_failed_deploy_is_a_deploy_error(tmp_path: Path) -> None:
    with pytest.raises(DeployError, match=r"ci/deploy\.py is missing"):
        DeployScript(tmp_path, RecordingRunner()).deploy("img", "o", KUBECONFIG, 60)

    (tmp_path / "ci").mkdir()
    (tmp_path / names.DEPLOY_SCRIPT).write_text("")
    failing = RecordingRunner([CommandResult(3, "", "rollout failed; rolled back to rev 4")])
    with pytest.raises(DeployError, match="exited with 3:\nrollout failed; rolled back to rev 4"):
        DeployScript(tmp_path, failing).deploy("img", "o", KUBECONFIG, 60)


def test_the_subprocess_runner_runs_commands_and_names_missing_tools(tmp_path: Path) -> None:
    result = SubprocessRunner().run(
        [sys.executable, "-c", "import os,sys; print(sys.stdin.read(), os.environ['X'])"],
        stdin="in",
        env={"X": "env"},
        cwd=tmp_path,
    )
    assert result.ok and result.stdout.strip() == "in env"
    with pytest.raises(ToolMissingError, match="no-such-tool-here is not installed"):
        SubprocessRunner().run(["no-such-tool-here"])


def test_tools_that_are_missing_or_too_old_are_named_with_what_to_install() -> None:
    versions = {
        "pulumi": CommandResult(0, "v3.100.0\n", ""),
        "kubectl": CommandResult(0, "Client Version: v1.32.4\n", ""),
        "git": CommandResult(0, "git version 2.45.0\n", ""),
    }

    class Tools:
        def run(self, argv: Sequence[str], **_: object) -> CommandResult:
            if argv[0] == "ssh":
                raise ToolMissingError("ssh")
            return versions[argv[0]]

    problems = check_tools(Tools())

    minimum = {tool.name: ".".join(map(str, tool.minimum)) for tool in TOOLS}
    assert problems == [
        f"pulumi: version 3.100.0 is older than {minimum['pulumi']}; {TOOLS[0].install}",
        f"kubectl: version 1.32.4 is older than {minimum['kubectl']}; {TOOLS[1].install}",
        f"ssh: not found on PATH; {TOOLS[3].install}",
    ]
    assert minimum["kubectl"] == f"1.{int(names.KUBERNETES_MINOR.split('.')[1]) - 1}.0"


# A kubectl stand-in for `port-forward`: it serves one pod's /status on the local port it was
# given and prints kubectl's "Forwarding from" line, so the real client code runs end to end.
FAKE_KUBECTL = """\
import http.server, json, sys
argv = sys.argv[1:]
local = int(argv[-1].split(":")[0])
target = argv[-2]
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"path": self.path, "target": target, "argv": argv}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", local), Handler)
print(f"Forwarding from 127.0.0.1:{local} -> {argv[-1].split(':')[1]}", flush=True)
server.serve_forever()
"""


def test_kubectl_reads_a_pods_json_through_a_port_forward_it_then_stops(tmp_path: Path) -> None:
    kubectl = tmp_path / "kubectl"
    kubectl.write_text(f"#!{sys.executable}\n{FAKE_KUBECTL}")
    kubectl.chmod(0o755)
    kube = KubectlClient(KUBECONFIG, SubprocessRunner(), kubectl=str(kubectl))

    body = kube.pod_json("apps", "executor-7d9f", 8080, "status")

    assert body["path"] == "/status"
    assert body["target"] == "pod/executor-7d9f"
    assert body["argv"][:7] == [
        "--kubeconfig", str(KUBECONFIG), "port-forward", "--namespace", "apps",
        "--address", "127.0.0.1",
    ]  # fmt: skip
    assert body["argv"][-1].endswith(":8080")


def test_a_pod_that_cannot_be_forwarded_is_a_kube_error(tmp_path: Path) -> None:
    kubectl = tmp_path / "kubectl"
    kubectl.write_text("#!/bin/sh\necho 'error: pods \"gone\" not found' >&2\nexit 1\n")
    kubectl.chmod(0o755)
    kube = KubectlClient(KUBECONFIG, SubprocessRunner(), kubectl=str(kubectl))
    with pytest.raises(KubeError, match='pods "gone" not found'):
        kube.pod_json("apps", "gone", 8080, "status")
