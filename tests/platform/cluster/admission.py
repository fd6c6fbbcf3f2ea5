"""A ValidatingAdmissionPolicy evaluated as the API server would: its match constraints and
conditions, its variables and its validations, in CEL (cel-python), over a request built from
a manifest.

The guard's expressions are code; reading them as strings proves nothing about what they
admit. This runs them. Like the API server, a variable that cannot be evaluated for an object
(a ConfigMap has no pod template) is an error only if a validation actually needs it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import celpy
from celpy import celtypes
from celpy.adapter import json_to_cel
from celpy.evaluation import CELEvalError


@dataclass(frozen=True)
class Request:
    operation: str  # CREATE, UPDATE, DELETE
    username: str
    object: dict[str, Any] | None
    old_object: dict[str, Any] | None = None

    @property
    def resource(self) -> str:
        manifest = self.object or self.old_object or {}
        return str(manifest.get("kind", "")).lower() + "s"


def _evaluate(environment: celpy.Environment, expression: str, activation: dict[str, Any]) -> Any:
    program = environment.program(environment.compile(expression))
    return program.evaluate(activation)


def denials(policy: dict[str, Any], request: Request) -> list[str]:
    """The messages of every validation ``policy`` fails for ``request`` (empty: admitted)."""
    environment = celpy.Environment()
    activation: dict[str, Any] = {
        "request": json_to_cel(
            {
                "operation": request.operation,
                "userInfo": {"username": request.username},
                "resource": {"resource": request.resource},
            }
        ),
        "object": json_to_cel(request.object),
        "oldObject": json_to_cel(request.old_object),
    }
    spec = policy["spec"]
    if not any(
        request.resource in rule["resources"] and request.operation in rule["operations"]
        for rule in spec["matchConstraints"]["resourceRules"]
    ):
        return []  # a kind or operation the policy does not intercept
    for condition in spec.get("matchConditions", []):
        if not _evaluate(environment, condition["expression"], activation):
            return []  # not matched: the policy does not apply
    variables: dict[str, Any] = {}
    for variable in spec.get("variables", []):
        activation["variables"] = celtypes.MapType(
            {celtypes.StringType(k): v for k, v in variables.items()}
        )
        try:
            variables[variable["name"]] = _evaluate(environment, variable["expression"], activation)
        except CELEvalError as error:
            variables[variable["name"]] = error  # an error value, raised only where used
    activation["variables"] = celtypes.MapType(
        {celtypes.StringType(k): v for k, v in variables.items()}
    )
    failed = []
    for validation in spec["validations"]:
        result = _evaluate(environment, validation["expression"], activation)
        if isinstance(result, CELEvalError):
            raise AssertionError(f"{validation['expression']!r} could not be evaluated: {result}")
        if not result:
            failed.append(validation["message"])
    return failed
