"""A stand-in `pulumi` executable for the Automation API: records how it is called.

The real CLI cannot be installed here. This one answers the handful of commands the stack
client's config handling uses, keeps stacks and config in a JSON file, and appends every
invocation (argv, and which PULUMI_* variables it saw) to a log the tests read.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    state_path = Path(os.environ["FAKE_PULUMI_STATE"])
    state = json.loads(state_path.read_text()) if state_path.exists() else {"stacks": {}}
    args = [arg for arg in argv if arg != "--non-interactive"]
    with Path(os.environ["FAKE_PULUMI_LOG"]).open("a") as log:
        seen = sorted(key for key in os.environ if key.startswith("PULUMI_"))
        log.write(json.dumps({"argv": args, "env": seen, "cwd": str(Path.cwd())}) + "\n")
    code = answer(args, state)
    state_path.write_text(json.dumps(state))
    return code


def answer(args: list[str], state: dict[str, dict[str, dict[str, object]]]) -> int:
    stacks = state["stacks"]
    match args:
        case ["version"]:
            print(os.environ.get("FAKE_PULUMI_VERSION", "v3.272.0"))
        case ["stack", "ls", "--json"]:
            print(json.dumps([{"name": name, "current": False} for name in stacks]))
        case ["stack", "select", "--stack", name]:
            if name not in stacks:
                print(f"error: no stack named '{name}' found", file=sys.stderr)
                return 255
        case ["stack", "init", name, *_]:
            stacks[name] = {}
        case ["config", "set-all", "--stack", name, *pairs]:
            for flag, pair in zip(pairs[::2], pairs[1::2], strict=True):
                key, _, value = pair.partition("=")
                stacks[name][key] = {"value": value, "secret": flag == "--secret"}
        case ["config", "set", "--secret", "--stack", name, key]:
            stacks[name][key] = {"value": sys.stdin.read(), "secret": True}
        case ["config", "--show-secrets", "--json", "--stack", name]:
            print(json.dumps(stacks[name]))
        case ["stack", "import", "--file", path, "--stack", name]:
            mode = oct(Path(path).stat().st_mode & 0o777)
            parent = oct(Path(path).parent.stat().st_mode & 0o777)
            state.setdefault("imports", {})[name] = {"path": path, "mode": mode, "dir": parent}
            if os.environ.get("FAKE_PULUMI_IMPORT_FAILS"):
                print("error: the import failed", file=sys.stderr)
                return 255
            stacks[name]["deployment"] = json.loads(Path(path).read_text())
        case _:
            print(f"fake pulumi: unsupported {args}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
