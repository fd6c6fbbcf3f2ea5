"""The workstation's command-line tools: present, and new enough.

Checked before anything else so a missing tool is one clear line at the start, not a
traceback twenty minutes into a run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import metadata
from typing import Final

from unrip_platform import names

from unrip_bootstrap.clients.process import CommandRunner, ToolMissingError
from unrip_bootstrap.clients.pulumi_stacks import PULUMI_INSTALL_HINT

_VERSION = re.compile(r"(\d+)\.(\d+)(?:\.(\d+))?")


def parse_version(text: str) -> tuple[int, int, int] | None:
    found = _VERSION.search(text)
    return None if found is None else (int(found[1]), int(found[2]), int(found[3] or 0))


def _sdk_minor() -> tuple[int, int, int]:
    """The Pulumi CLI should be at least as new as the SDK the programs use."""
    version = parse_version(metadata.version("pulumi"))
    assert version is not None
    return version


def _kubectl_minimum() -> tuple[int, int, int]:
    """kubectl supports API servers one minor version away from its own."""
    major, minor = (int(part) for part in names.KUBERNETES_MINOR.split("."))
    return (major, minor - 1, 0)


@dataclass(frozen=True)
class Tool:
    name: str
    version_argv: tuple[str, ...]
    minimum: tuple[int, int, int]
    install: str


TOOLS: Final = (
    Tool("pulumi", ("pulumi", "version"), _sdk_minor(), PULUMI_INSTALL_HINT),
    Tool(
        "kubectl",
        ("kubectl", "version", "--client"),
        _kubectl_minimum(),
        "install kubectl (https://kubernetes.io/docs/tasks/tools/); Debian's kubernetes-client "
        "is too old",
    ),
    Tool("git", ("git", "--version"), (2, 31, 0), "install git (apt-get install git)"),
    Tool("ssh", ("ssh", "-V"), (8, 0, 0), "install the OpenSSH client (openssh-client)"),
)


def check_tools(runner: CommandRunner, tools: tuple[Tool, ...] = TOOLS) -> list[str]:
    """One line per tool that is missing or too old, saying what to install."""
    problems = []
    for tool in tools:
        wanted = ".".join(str(part) for part in tool.minimum)
        try:
            result = runner.run(list(tool.version_argv), timeout_s=30)
        except ToolMissingError:
            problems.append(f"{tool.name}: not found on PATH; {tool.install}")
            continue
        version = parse_version(result.stdout + result.stderr) if result.ok else None
        if version is None:
            problems.append(f"{tool.name}: `{' '.join(tool.version_argv)}` failed; {tool.install}")
        elif version < tool.minimum:
            have = ".".join(str(part) for part in version)
            problems.append(f"{tool.name}: version {have} is older than {wanted}; {tool.install}")
    return problems
