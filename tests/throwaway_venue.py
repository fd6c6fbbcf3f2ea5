"""The throwaway venue (`tests/integration/data/throwaway_venue`) installed as pip would lay it
out in site-packages: found through its `unrip.venues` entry point, edited into nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

PLUGIN_SOURCE = Path(__file__).parent / "integration" / "data" / "throwaway_venue"


def install_throwaway_venue(site: Path) -> None:
    """The package and its distribution metadata under `site` (put `site` on the path)."""
    shutil.copytree(PLUGIN_SOURCE, site / "throwaway_venue")
    dist = site / "throwaway_venue-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: throwaway-venue\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        "[unrip.venues]\nthrowaway = throwaway_venue.plugin:PLUGIN\n"
    )
