"""Offline cloud-config validation: cloud-init's own JSON schema plus an unknown-key check.

cloud-init's schema lets unknown top-level keys through (each module's part of the schema
only describes its own keys), and cloud-init itself ignores them on the node: a misspelt
`runcmds:` would boot a server that silently does nothing. So unknown keys are an error here.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft4Validator

SCHEMA_PATH = Path(__file__).parent / "data" / "cloud-init" / "schema-cloud-config-v1.json"
HEADER = "#cloud-config\n"


@cache
def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


@cache
def known_top_level_keys() -> frozenset[str]:
    """Every key some cloud-init module (or the base config) declares at the top level."""
    definitions = schema()["$defs"]
    keys: set[str] = set()
    for reference in schema()["allOf"]:
        name = reference["$ref"].removeprefix("#/$defs/")
        keys.update(definitions[name].get("properties", {}))
    return frozenset(keys)


def cloud_config_problems(user_data: str) -> list[str]:
    """Everything wrong with a cloud-config document; empty when cloud-init would accept it."""
    if not user_data.startswith(HEADER):
        return ["user data must start with '#cloud-config' or cloud-init ignores it"]
    document = yaml.safe_load(user_data)
    if not isinstance(document, dict):
        return ["a cloud-config document must be a mapping"]
    problems = [
        f"{'/'.join(str(part) for part in error.absolute_path) or '<root>'}: {error.message}"
        for error in Draft4Validator(schema()).iter_errors(document)
    ]
    problems.extend(
        f"unknown top-level key {key!r}" for key in sorted(set(document) - known_top_level_keys())
    )
    return problems
