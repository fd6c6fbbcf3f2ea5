"""The Pulumi engine and the Hetzner API, replaced for offline tests.

`pulumi.runtime.set_mocks` stands in for the engine; the monitor below also records each
registration's resource options (protect, ignoreChanges, ...), which the stock mock monitor
drops, so tests can assert what the engine would be told.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pulumi
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs

from tests.fake_keys import fake_private_key

# Distinctive values, so a test can prove they never leak where they must not be.
TOKEN_SENTINEL = "K3sTokenSentinel" + "x" * 32
HOST_KEY_SENTINEL = "HostKeySentinel"


def unwrap(value: Any) -> Any:
    """A property value without Pulumi's secret wrapper (recursively)."""
    if rpc.is_rpc_secret(value):
        return unwrap(rpc.unwrap_rpc_secret(value))
    if isinstance(value, dict):
        return {key: unwrap(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unwrap(item) for item in value]
    return value


@dataclass
class Registration:
    """One resource as the engine would receive it."""

    urn: str
    id: str
    type: str
    name: str
    parent: str
    raw_inputs: dict[str, Any]
    protect: bool
    ignore_changes: list[str]
    delete_before_replace: bool
    dependencies: list[str]

    @property
    def inputs(self) -> dict[str, Any]:
        return {key: unwrap(value) for key, value in self.raw_inputs.items()}

    def is_secret(self, key: str) -> bool:
        return rpc.is_rpc_secret(self.raw_inputs.get(key))


class HetznerMocks(pulumi.runtime.Mocks):
    """Answers like the Hetzner/random/tls providers would: numeric ids, computed outputs."""

    def __init__(self) -> None:
        self._ids = itertools.count(1001)

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict[str, Any]]:
        resource_id = str(next(self._ids))
        state = dict(args.inputs)
        if args.typ == "hcloud:index/primaryIp:PrimaryIp":
            state["ipAddress"] = f"203.0.113.{int(resource_id) % 250}"
        elif args.typ == "hcloud:index/volume:Volume":
            state["linuxDevice"] = f"/dev/disk/by-id/scsi-0HC_Volume_{resource_id}"
        elif args.typ == "random:index/randomPassword:RandomPassword":
            state["result"] = TOKEN_SENTINEL
        elif args.typ == "tls:index/privateKey:PrivateKey":
            state["privateKeyOpenssh"] = fake_private_key(f"{HOST_KEY_SENTINEL}{resource_id}")
            state["publicKeyOpenssh"] = f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5host{resource_id}\n"
        return resource_id, state

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


class RecordingMonitor(MockMonitor):
    """The stock mock monitor, plus a record of every registration with its options."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)  # type: ignore[no-untyped-call]
        if request.type != "pulumi:pulumi:Stack":
            self.registrations.append(
                Registration(
                    urn=response.urn,
                    id=response.id,
                    type=request.type,
                    name=request.name,
                    parent=request.parent,
                    raw_inputs=rpc.deserialize_properties(request.object),
                    protect=bool(request.protect),
                    ignore_changes=list(request.ignoreChanges),
                    delete_before_replace=bool(request.deleteBeforeReplace),
                    dependencies=list(request.dependencies),
                )
            )
        return response


class CapturingHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@dataclass
class Deployment:
    """What one run of a program told the engine."""

    registrations: list[Registration]
    outputs: dict[str, Any]
    log_messages: list[str] = field(default_factory=list)

    def of_type(self, type_token: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_token]

    def one(self, type_token: str) -> Registration:
        found = self.of_type(type_token)
        assert len(found) == 1, f"expected one {type_token}, found {len(found)}"
        return found[0]

    def by_urn(self, urn: str) -> Registration:
        return next(r for r in self.registrations if r.urn == urn)


class FakeEngine:
    """Runs a Pulumi program against the mocks and hands back what it registered."""

    def __init__(self, project: str, stack: str) -> None:
        self.mocks = HetznerMocks()
        self.monitor = RecordingMonitor(self.mocks)
        self.log = CapturingHandler()
        logger = logging.getLogger(f"fake-pulumi-engine.{id(self)}")
        logger.addHandler(self.log)
        logger.setLevel(logging.DEBUG)
        pulumi.runtime.set_mocks(
            self.mocks,
            project=project,
            stack=stack,
            preview=False,
            logger=logger,
            monitor=self.monitor,
        )

    def run(self, program: Callable[[], dict[str, Any] | None]) -> Deployment:
        """Run `program`; resolve the outputs it returns (or the stack's exports if None)."""
        resolved: dict[str, Any] = {}

        @pulumi.runtime.test  # type: ignore[untyped-decorator]
        def _run() -> pulumi.Output[Any]:
            root = pulumi.runtime.get_root_resource()
            exports: dict[str, Any] = getattr(root, "outputs", {})
            exports.clear()
            returned = program()
            outputs = dict(exports) if returned is None else returned
            if not outputs:
                return pulumi.Output.from_input(None)
            return pulumi.Output.all(**outputs).apply(resolved.update)

        self.monitor.registrations.clear()
        _run()
        return Deployment(list(self.monitor.registrations), resolved, list(self.log.messages))
