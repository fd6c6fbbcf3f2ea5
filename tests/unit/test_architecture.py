"""The import contracts ([tool.importlinter] in pyproject.toml) catch what they promise to.

``invoke lint`` runs them on the repository; here each contract is shown to break on a copy
of the product with one forbidden import added, so a contract that silently matches nothing
cannot pass for a kept one.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def contracts_config(into: Path) -> Path:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    lines = ["[tool.importlinter]", 'root_packages = ["unrip"]', "include_external_packages = true"]
    for contract in config["contracts"]:
        lines.append("[[tool.importlinter.contracts]]")
        lines += [f"{key} = {value!r}".replace("'", '"') for key, value in contract.items()]
    path = into / "contracts.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("reactor/stray.py", "from unrip.executor import plan", "The product is layered"),
        ("venues/stray.py", "from unrip.ingest import service", "The product is layered"),
        ("runtime/stray.py", "from unrip.venues import registry", "The product is layered"),
        ("venues/paper/stray.py", "from unrip.venues.near_intents import source", "Venues know"),
        ("executor/stray.py", "import unrip_dev.supervisor", "never imports the dev tooling"),
        ("monitor/stray.py", "def show():\n    from rich.console import Console", "never imports"),
    ],
)
def test_each_contract_breaks_on_the_import_it_forbids(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    shutil.copytree(ROOT / "apps" / "unrip", tmp_path / "unrip")
    (tmp_path / "unrip" / module).write_text(line + "\n")
    config = contracts_config(tmp_path)
    env = {**os.environ, "PYTHONPATH": str(tmp_path), "COLUMNS": "200"}
    result = subprocess.run(
        [str(LINT_IMPORTS), "--config", str(config), "--no-cache"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1, result.stdout
    _, _, broken = result.stdout.partition("Broken contracts")
    assert contract in broken and f"unrip.{module[:-3].replace('/', '.')}" in broken, broken


def test_the_untouched_product_keeps_every_contract(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "apps" / "unrip", tmp_path / "unrip")
    result = subprocess.run(
        [str(LINT_IMPORTS), "--config", str(contracts_config(tmp_path)), "--no-cache"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout
