"""A stand-in for the ``rpk`` subcommands the topic job uses, keeping its topics in a JSON file.

The job's script runs against it unchanged (there is no Redpanda here); its output and exit
codes follow rpk's for these commands.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any


def options(args: list[str], flag: str) -> list[str]:
    return [args[i + 1] for i, arg in enumerate(args) if arg == flag]


def main(argv: list[str]) -> int:
    state_file = Path(os.environ["FAKE_RPK_STATE"])
    state: dict[str, Any] = (
        json.loads(state_file.read_text()) if state_file.exists() else {"topics": {}, "calls": []}
    )
    if argv[:1] != ["-X"] or not argv[1].startswith("brokers="):
        print("rpk: no brokers given", file=sys.stderr)
        return 2
    command = argv[2:]
    state["calls"].append(command)
    topics = state["topics"]
    status = 0
    match command:
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
