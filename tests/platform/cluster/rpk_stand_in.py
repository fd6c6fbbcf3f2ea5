"""The stand-in rpk (fake_rpk.py) on a PATH of its own, for running the platform's rpk scripts
for real under bash against a state file instead of a Redpanda."""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from unrip_platform import names

FAKE_RPK = Path(__file__).with_name("fake_rpk.py")


class FakeRpk:
    """``state``: the fake rpk's state file; ``env``: an environment that finds it as rpk."""

    def __init__(self, directory: Path) -> None:
        self.state = directory / "state.json"
        bin_dir = directory / "bin"
        bin_dir.mkdir()
        rpk = bin_dir / "rpk"
        rpk.write_text(
            f'#!/bin/sh\nexec {shlex.quote(sys.executable)} {shlex.quote(str(FAKE_RPK))} "$@"\n'
        )
        rpk.chmod(0o755)
        self.env = {
            **os.environ,
            "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
            "FAKE_RPK_STATE": str(self.state),
            "BROKERS": names.KAFKA_BOOTSTRAP_IN_CLUSTER,
        }
