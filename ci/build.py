"""Build the one image with BuildKit, push it tagged with the commit, print it by digest.

    python ci/build.py [--revision SHA]

Runs where the Forgejo runner's jobs run (``buildctl`` on PATH, ``BUILDKIT_HOST`` pointing at
the pod's rootless BuildKit) or anywhere else with the same variables:

- ``UNRIP_REGISTRY_PUSH``: where to push (the runner sets ``127.0.0.1:30300/unrip/unrip``);
- ``UNRIP_IMAGE_REPOSITORY``: the name pods pull the same image by
  (``registry.unrip.internal/unrip/unrip``); the printed reference uses it;
- ``UNRIP_REGISTRY_USER`` / ``UNRIP_REGISTRY_PASSWORD``: registry credentials, written to a
  temporary Docker config readable by this user only and removed afterwards, never printed.

Prints ``<UNRIP_IMAGE_REPOSITORY>@sha256:...`` on stdout and, in a workflow, writes it as the
step output ``image`` (to ``$GITHUB_OUTPUT``). Standard library only.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
REVISION = re.compile(r"^[0-9a-f]{7,64}$")


class BuildError(Exception):
    pass


def say(message: str) -> None:
    print(f"build: {message}", file=sys.stderr, flush=True)


def required(environ: Mapping[str, str], name: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise BuildError(f"{name} is not set")
    return value


def head_revision() -> str:
    result = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise BuildError(f"git rev-parse HEAD failed: {result.stderr.strip()}")
    return result.stdout.strip()


def docker_config(directory: Path, registry: str, user: str, password: str) -> None:
    """Credentials the buildctl client hands to BuildKit for the push (file mode 0600)."""
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    path = directory / "config.json"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        json.dump({"auths": {registry: {"auth": auth}}}, handle)


def buildctl_command(push_to: str, revision: str, metadata: Path) -> list[str]:
    return [
        os.environ.get("UNRIP_BUILDCTL", "buildctl"),
        "build",
        "--frontend",
        "dockerfile.v0",
        "--local",
        f"context={ROOT}",
        "--local",
        f"dockerfile={ROOT / 'apps'}",
        "--opt",
        "filename=Dockerfile",
        "--opt",
        f"build-arg:UNRIP_REVISION={revision}",
        "--output",
        f"type=image,name={push_to}:{revision},push=true",
        "--metadata-file",
        str(metadata),
    ]


def build(environ: Mapping[str, str], revision: str) -> str:
    if not REVISION.match(revision):
        raise BuildError(f"--revision {revision!r} is not a git commit id")
    push_repository = required(environ, "UNRIP_REGISTRY_PUSH")
    image_repository = required(environ, "UNRIP_IMAGE_REPOSITORY")
    registry = push_repository.split("/", 1)[0]
    with tempfile.TemporaryDirectory(prefix="unrip-build-") as scratch:
        directory = Path(scratch)
        env = dict(environ)
        user = environ.get("UNRIP_REGISTRY_USER", "").strip()
        password = environ.get("UNRIP_REGISTRY_PASSWORD", "")
        if user and password:
            docker_config(directory, registry, user, password)
            env["DOCKER_CONFIG"] = scratch
        else:
            say("no registry credentials (UNRIP_REGISTRY_USER/PASSWORD): pushing anonymously")
        metadata = directory / "metadata.json"
        say(f"building {push_repository}:{revision}")
        result = subprocess.run(buildctl_command(push_repository, revision, metadata), env=env)
        if result.returncode != 0:
            raise BuildError(f"buildctl failed with exit code {result.returncode}")
        try:
            digest = json.loads(metadata.read_text())["containerimage.digest"]
        except (OSError, ValueError, KeyError) as error:
            raise BuildError(f"buildctl wrote no image digest: {error}") from None
    if not DIGEST.match(digest):
        raise BuildError(f"buildctl reported {digest!r}, not a sha256 digest")
    return f"{image_repository}@{digest}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="build.py", description=__doc__)
    parser.add_argument("--revision", help="commit the image is tagged with (default: HEAD)")
    args = parser.parse_args(argv)
    try:
        image = build(os.environ, args.revision or head_revision())
    except BuildError as error:
        say(f"error: {error}")
        return 1
    except FileNotFoundError as error:
        say(f"error: {error.filename or error} not found (is buildctl installed?)")
        return 1
    say(f"pushed {image}")
    print(image)
    output = os.environ.get("GITHUB_OUTPUT")
    if output:
        with open(output, "a") as handle:  # noqa: PTH123 (append to the runner's file)
            handle.write(f"image={image}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
