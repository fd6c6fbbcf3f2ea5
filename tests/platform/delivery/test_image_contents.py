"""What the image installs, built the Dockerfile's way: the services and nothing else.

No container engine runs here, but the image's own package is just ``pip install .`` of the
build context that ``.dockerignore`` lets through; building that wheel and reading it shows
exactly which modules ship, and what each of them imports.
"""

from __future__ import annotations

import ast
import fnmatch
import shutil
import subprocess
import sys
import zipfile
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from unrip_platform.delivery import checks

from tests.platform.delivery.test_dockerfile import locked

pytestmark = pytest.mark.platform

ROOT = checks.ROOT


def build_context(into: Path) -> Path:
    """The files ``.dockerignore`` lets into the build context (its `*` then `!allowed` form)."""
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    allowed = [p[1:].rstrip("/") for p in patterns if p.startswith("!")]
    ignored = [p for p in patterns if p != "*" and not p.startswith("!")]
    for name in allowed:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(
                source, into / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        else:
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)
    for path in list(into.rglob("*")):
        relative = path.relative_to(into).as_posix()
        if any(fnmatch.fnmatch(relative, pattern) for pattern in ignored) and path.exists():
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    return into


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    context = build_context(tmp_path_factory.mktemp("context"))
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--quiet",
            "--wheel-dir",
            str(out),
            str(context),
        ],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("unrip-*.whl")
    return zipfile.ZipFile(built)


def modules(wheel: zipfile.ZipFile) -> dict[str, str]:
    return {n: wheel.read(n).decode() for n in wheel.namelist() if n.endswith(".py")}


def test_the_image_installs_the_services_and_no_harness_or_workstation_code(
    wheel: zipfile.ZipFile,
) -> None:
    packages = {name.split("/", 1)[0] for name in modules(wheel)}
    assert packages == {"unrip"}
    shipped = set(modules(wheel))
    assert "unrip/executor/service.py" in shipped and "unrip/venues/registry.py" in shipped
    assert not any("fake_relay" in n or "make_sample_feed" in n or "/local/" in n for n in shipped)
    assert "unrip/venues/near_intents/data/sample_feed.jsonl" in wheel.namelist()


def stray_imports(sources: dict[str, str]) -> dict[str, set[str]]:
    """Top-level packages each module imports (lazy imports included) that the image lacks."""
    lock = set(locked(ROOT / "requirements" / "runtime.lock"))
    allowed = set(sys.stdlib_module_names) | {"unrip"}
    allowed |= {
        module
        for module, distributions in packages_distributions().items()
        if any(d.lower().replace("_", "-") in lock for d in distributions)
    }
    strays: dict[str, set[str]] = {}
    for name, source in sources.items():
        imported: set[str] = set()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
        if imported - allowed:
            strays[name] = imported - allowed
    return strays


def test_every_shipped_module_imports_only_the_standard_library_and_the_runtime_lock(
    wheel: zipfile.ZipFile,
) -> None:
    assert stray_imports(modules(wheel)) == {}


def test_a_harness_import_even_inside_a_function_would_be_caught() -> None:
    harness = "def show() -> None:\n    from rich.console import Console\n    import unrip_dev\n"
    assert stray_imports({"unrip/x.py": harness}) == {"unrip/x.py": {"rich", "unrip_dev"}}
