"""A stand-in for the ``rpk`` subcommands the topic and bus-access jobs use, keeping the
brokers' topics, SCRAM users and ACLs in a JSON file.

The jobs' scripts run against it unchanged (there is no Redpanda here); its output and exit
codes follow rpk's for these commands: tables with a header row, ACL kinds, operations and
permissions in upper case as rpk prints them. Every call is recorded, with the user it
authenticated as (``RPK_USER``); passwords are kept only to check them, never recorded.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any


def options(args: list[str], flag: str) -> list[str]:
    return [args[i + 1] for i, arg in enumerate(args) if arg == flag]


ACL_COLUMNS = (
    "PRINCIPAL",
    "HOST",
    "RESOURCE-TYPE",
    "RESOURCE-NAME",
    "RESOURCE-PATTERN-TYPE",
    "OPERATION",
    "PERMISSION",
)
RESOURCE_FLAGS = {"--topic": "TOPIC", "--group": "GROUP", "--transactional-id": "TRANSACTIONAL_ID"}
OPERATIONS = {
    "all": "ALL",
    "read": "READ",
    "write": "WRITE",
    "create": "CREATE",
    "delete": "DELETE",
    "alter": "ALTER",
    "describe": "DESCRIBE",
    "clusteraction": "CLUSTER_ACTION",
    "describeconfigs": "DESCRIBE_CONFIGS",
    "alterconfigs": "ALTER_CONFIGS",
    "idempotentwrite": "IDEMPOTENT_WRITE",
}


def acl_rows(args: list[str]) -> list[dict[str, str]] | str:
    """The bindings an ``acl create``/``acl delete`` names, or an error."""
    allow, deny = options(args, "--allow-principal"), options(args, "--deny-principal")
    resources = [
        (kind, name) for flag, kind in RESOURCE_FLAGS.items() for name in options(args, flag)
    ]
    if "--cluster" in args:
        resources.append(("CLUSTER", "kafka-cluster"))
    operations = options(args, "--operation")
    if not (allow or deny) or not resources or not operations:
        return "missing principal, resource or operation"
    if any("," in op or op not in OPERATIONS for op in operations):
        return f"invalid kafka operation {operations}"
    pattern = (options(args, "--resource-pattern-type") or ["literal"])[0].upper()
    return [
        {
            "principal": principal,
            "host": "*",
            "kind": kind,
            "name": name,
            "pattern": pattern,
            "operation": OPERATIONS[op],
            "permission": permission,
        }
        for permission, principals in (("ALLOW", allow), ("DENY", deny))
        for principal in principals
        for kind, name in resources
        for op in operations
    ]


def security(command: list[str], state: dict[str, Any]) -> int:
    users: dict[str, dict[str, str]] = state["users"]
    acls: list[dict[str, str]] = state["acls"]
    match command:
        case ["user", "list"]:
            print("USERNAME")
            for name in sorted(users):
                print(name)
        case ["user", "create", name, *rest]:
            if name in users:
                print(f'rpk: user "{name}" already exists', file=sys.stderr)
                return 1
            users[name] = {
                "password": options(rest, "--password")[0],
                "mechanism": options(rest, "--mechanism")[0],
            }
            print(f'Created user "{name}".')
        case ["user", "update", name, *rest]:
            if name not in users:
                print(f'rpk: user "{name}" does not exist', file=sys.stderr)
                return 1
            users[name] = {
                "password": options(rest, "--new-password")[0],
                "mechanism": options(rest, "--mechanism")[0],
            }
            print(f'Updated user "{name}".')
        case ["acl", "list"]:
            print(f"{'  '.join(ACL_COLUMNS)}  ERROR")
            for acl in acls:
                print(
                    "  ".join(
                        acl[k]
                        for k in (
                            "principal",
                            "host",
                            "kind",
                            "name",
                            "pattern",
                            "operation",
                            "permission",
                        )
                    )
                )
        case ["acl", "create" | "delete" as verb, *rest]:
            rows = acl_rows(rest)
            if isinstance(rows, str):
                print(f"rpk: {rows}", file=sys.stderr)
                return 2
            if verb == "create":
                acls.extend(row for row in rows if row not in acls)
            else:
                if "--no-confirm" not in rest:
                    print("rpk: would prompt for confirmation", file=sys.stderr)
                    return 2
                acls[:] = [acl for acl in acls if {**acl, "host": "*"} not in rows]
        case _:
            print(f"rpk: unsupported command {command}", file=sys.stderr)
            return 2
    return 0


def main(argv: list[str]) -> int:
    state_file = Path(os.environ["FAKE_RPK_STATE"])
    state: dict[str, Any] = {"topics": {}, "users": {}, "acls": [], "calls": []}
    if state_file.exists():
        state.update(json.loads(state_file.read_text()))
    settings = {}
    while argv[:1] == ["-X"]:
        key, _, value = argv[1].partition("=")
        settings[key] = value
        argv = argv[2:]
    if "brokers" not in settings:
        print("rpk: no brokers given", file=sys.stderr)
        return 2
    command = argv
    state["calls"].append({"argv": command, "user": os.environ.get("RPK_USER")})
    topics = state["topics"]
    status = 0
    match command:
        case ["security", *rest]:
            if "admin.hosts" not in settings and rest[:1] == ["user"]:
                print("rpk: no admin hosts given", file=sys.stderr)
                status = 2
            else:
                status = security(rest, state)
        case ["cluster", "info"]:
            print("CLUSTER\n=======\nredpanda.fake")
        case ["topic", "list"]:
            print("NAME  PARTITIONS  REPLICAS")
            for name in sorted(topics):
                print(f"{name}  {topics[name]['partitions']}  {topics[name]['replicas']}")
        case ["topic", "create", name, *rest]:
            if name in topics:
                print(f"TOPIC  STATUS\n{name}  TOPIC_ALREADY_EXISTS")
                status = 1
            else:
                topics[name] = {
                    "partitions": int(options(rest, "--partitions")[0]),
                    "replicas": int(options(rest, "--replicas")[0]),
                    "configs": dict(c.split("=", 1) for c in options(rest, "--topic-config")),
                }
        case ["topic", "add-partitions", name, "--num", count]:
            topics[name]["partitions"] += int(count)
        case ["topic", "alter-config", name, *rest]:
            topics[name]["configs"].update(c.split("=", 1) for c in options(rest, "--set"))
        case _:
            print(f"rpk: unsupported command {command}", file=sys.stderr)
            status = 2
    state_file.write_text(json.dumps(state))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
