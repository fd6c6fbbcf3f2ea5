"""Start and query the NEAR stand-in (``standin.py``) as a separate process, for harnesses."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from unrip.venues.near_intents.nep413 import Ed25519Signer

JWT = "standin-partner-jwt"
SOLVER = "solver.near"


@dataclass
class NearStandin:
    process: subprocess.Popen[str]
    relay_url: str
    rpc_url: str
    signing_key: str

    @classmethod
    def start(cls, run_dir: Path, fill_share: float) -> NearStandin:
        log = (run_dir / "near-standin.log").open("ab")
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "unrip_dev.venues.near_intents.standin",
                "--jwt",
                JWT,
                "--fill-share",
                str(fill_share),
            ],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        assert process.stdout is not None
        urls = json.loads(process.stdout.readline())
        key = Ed25519Signer.generate().near_secret()
        return cls(process, urls["relay_url"], urls["rpc_url"], key)

    def executor_env(self) -> dict[str, str]:
        return {
            "UNRIP_EXECUTOR_VENUE": "near_intents",
            "UNRIP_NEAR_INTENTS_RELAY_URL": self.relay_url,
            "UNRIP_NEAR_INTENTS_RPC_URL": self.rpc_url,
            "UNRIP_NEAR_INTENTS_JWT": JWT,
            "UNRIP_NEAR_INTENTS_SOLVER_ACCOUNT_ID": SOLVER,
            "UNRIP_NEAR_INTENTS_SIGNING_KEY": self.signing_key,
            "UNRIP_NEAR_INTENTS_SETTLE_GRACE_MS": "500",
        }

    def stats(self) -> dict[str, Any]:
        body = {"jsonrpc": "2.0", "id": 1, "method": "unrip_stats"}
        answer = httpx.post(self.rpc_url, json=body, timeout=10).json()
        return answer["result"]  # type: ignore[no-any-return]

    def quote_arrivals(self, prefix: str) -> dict[str, float]:
        """quote_id -> when its first quote_response reached the relay (epoch seconds)."""
        body = {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "unrip_quote_arrivals",
            "params": {"prefix": prefix},
        }
        answer = httpx.post(self.rpc_url, json=body, timeout=10).json()
        return {str(q): float(t) for q, t in answer["result"].items()}

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
