"""The strategy as a Kubernetes ConfigMap read through the API, so an edit applies within seconds.

A ConfigMap mounted as a volume reaches the pod only after the kubelet's next sync of the pod
(a minute or more): too slow for a kill switch. The reactor instead reads the one ConfigMap it
may read (its Role names that ConfigMap only) once per poll interval, and ``refresh()`` applies
what it read with ``StrategyFile``'s rules: a broken edit turns the kill switch on (the last
good strategy stays loaded, emitting nothing) until a valid edit arrives.

If the ConfigMap cannot be read for longer than ``max_staleness_s``, the operator has lost the
means to stop trading, so the reactor fails closed: the last good strategy stays, with the kill
switch forced on, until a read succeeds again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

import httpx

from unrip.runtime.service import sleep_unless_stopped
from unrip.strategy.document import Strategy, killed, parse_strategy

log = logging.getLogger(__name__)

# Where Kubernetes projects a pod's service-account token, CA bundle and namespace.
SERVICE_ACCOUNT_DIR: Final = Path("/var/run/secrets/kubernetes.io/serviceaccount")
IN_CLUSTER_API: Final = "https://kubernetes.default.svc"


class ConfigMapUnavailableError(RuntimeError):
    """The ConfigMap could not be read; the message says why (never the token)."""


@dataclass(frozen=True, slots=True)
class ConfigMapSnapshot:
    """What one read returned: the object's version and its ``data``."""

    resource_version: str
    data: Mapping[str, str]


class ConfigMapReader(Protocol):
    async def read(self, namespace: str, name: str) -> ConfigMapSnapshot: ...

    async def aclose(self) -> None: ...


def service_account_namespace(directory: Path = SERVICE_ACCOUNT_DIR) -> str:
    return (directory / "namespace").read_text().strip()


class InClusterConfigMapReader:
    """GET one ConfigMap from the API server with the pod's service-account token.

    The token is read from its file on every request: projected tokens are rotated by the
    kubelet, so a token cached at start-up would expire.
    """

    def __init__(
        self,
        server: str = IN_CLUSTER_API,
        credentials: Path = SERVICE_ACCOUNT_DIR,
        *,
        timeout_s: float = 2.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._token_file = credentials / "token"
        verify: ssl.SSLContext | bool = True
        if transport is None:
            verify = ssl.create_default_context(cafile=str(credentials / "ca.crt"))
        self._client = httpx.AsyncClient(
            base_url=server, timeout=timeout_s, verify=verify, transport=transport
        )

    async def read(self, namespace: str, name: str) -> ConfigMapSnapshot:
        path = f"/api/v1/namespaces/{namespace}/configmaps/{name}"
        try:
            token = self._token_file.read_text().strip()
        except OSError as exc:
            raise ConfigMapUnavailableError(f"service-account token unreadable: {exc}") from None
        try:
            response = await self._client.get(path, headers={"Authorization": f"Bearer {token}"})
        except httpx.HTTPError as exc:
            raise ConfigMapUnavailableError(f"GET {path}: {type(exc).__name__}: {exc}") from None
        if response.status_code != httpx.codes.OK:
            raise ConfigMapUnavailableError(
                f"GET {path}: HTTP {response.status_code}: {_status_message(response)}"
            )
        try:
            body = response.json()
            version = str(body["metadata"]["resourceVersion"])
            data = body.get("data") or {}
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigMapUnavailableError(f"GET {path}: not a ConfigMap: {exc}") from None
        return ConfigMapSnapshot(resource_version=version, data=dict(data))

    async def aclose(self) -> None:
        await self._client.aclose()


def _status_message(response: httpx.Response) -> str:
    """The API server's Status message (e.g. RBAC's "forbidden: ..."), if it sent one."""
    with contextlib.suppress(ValueError, AttributeError):
        message = response.json().get("message")
        if message:
            return str(message)
    return response.reason_phrase


class StrategyConfigMap:
    """A strategy kept in one ConfigMap key; ``poll`` reads it, ``refresh`` applies it."""

    def __init__(
        self,
        reader: ConfigMapReader,
        namespace: str,
        name: str,
        key: str = "strategy.yaml",
        *,
        poll_interval_s: float = 1.0,
        max_staleness_s: float = 30.0,
    ) -> None:
        self.reader = reader
        self.namespace = namespace
        self.name = name
        self.key = key
        self.poll_interval_s = poll_interval_s
        self.max_staleness_s = max_staleness_s
        self.reloads = 0
        self.errors = 0
        self._good: Strategy | None = None
        self._applied_version: str | None = None
        self._latest: ConfigMapSnapshot | None = None
        self._last_read = 0.0
        self._failing = False
        self._fail_closed = False
        self.rejected = False  # the applied version is invalid: kill switch forced on

    @property
    def origin(self) -> str:
        return f"configmap {self.namespace}/{self.name} key {self.key}"

    @property
    def loaded(self) -> bool:
        return self._good is not None

    @property
    def stale(self) -> bool:
        """True while the kill switch is forced on because the last read is too old."""
        return self._fail_closed

    @property
    def current(self) -> Strategy:
        if self._good is None:
            raise RuntimeError(f"{self.origin}: start() has not read the strategy yet")
        if self._fail_closed or self.rejected:
            return killed(self._good)
        return self._good

    async def start(self, now: float | None = None) -> None:
        """Read and validate the strategy once; there is no last good one to fall back to yet."""
        snapshot = await self.reader.read(self.namespace, self.name)
        self._good = self._parse(snapshot)
        self._applied_version = snapshot.resource_version
        self._latest = snapshot
        self._last_read = time.monotonic() if now is None else now
        log.info("strategy loaded", extra=self._describe(self._good))

    async def poll_once(self, now: float | None = None) -> bool:
        """One read; False (and the last snapshot kept) if the API did not answer."""
        try:
            snapshot = await self.reader.read(self.namespace, self.name)
        except ConfigMapUnavailableError as exc:
            self.errors += 1
            if not self._failing:  # once per outage, not once per second
                log.error(
                    "strategy configmap unreadable; keeping the last good strategy",
                    extra={"configmap": self.name, "error": str(exc)},
                )
            self._failing = True
            return False
        if self._failing:
            log.info("strategy configmap readable again", extra={"configmap": self.name})
        self._failing = False
        self._latest = snapshot
        self._last_read = time.monotonic() if now is None else now
        return True

    async def poll(self, stop: asyncio.Event) -> None:
        """Read every ``poll_interval_s`` until ``stop`` is set."""
        while not stop.is_set():
            await sleep_unless_stopped(stop, self.poll_interval_s)
            if not stop.is_set():
                await self.poll_once()
                # Staleness is judged here too, not only when a batch arrives: with no demands
                # flowing the forced kill switch (and its alert) must still show.
                self._check_staleness(time.monotonic())

    def refresh(self, now: float | None = None) -> bool:
        """Apply the latest read if the ConfigMap changed; True when ``current`` changed."""
        now = time.monotonic() if now is None else now
        changed = self._check_staleness(now)
        latest = self._latest
        if latest is None or latest.resource_version == self._applied_version:
            return changed
        self._applied_version = latest.resource_version
        try:
            strategy = self._parse(latest)
        except ValueError as exc:
            self.errors += 1
            log.error(
                "strategy reload rejected; kill switch forced on until a valid edit",
                extra={"error": str(exc)},
            )
            was_rejected, self.rejected = self.rejected, True
            return changed or not was_rejected
        self._good = strategy
        self.rejected = False
        self.reloads += 1
        log.info("strategy reloaded", extra=self._describe(self.current))
        return True

    def _check_staleness(self, now: float) -> bool:
        stale = self.max_staleness_s > 0 and now - self._last_read > self.max_staleness_s
        if stale == self._fail_closed:
            return False
        self._fail_closed = stale
        if stale:
            log.error(
                "strategy configmap not read for too long; kill switch forced on",
                extra={"configmap": self.name, "max_staleness_s": self.max_staleness_s},
            )
        else:
            log.info("strategy configmap read again; forced kill switch lifted")
        return True

    def _parse(self, snapshot: ConfigMapSnapshot) -> Strategy:
        text = snapshot.data.get(self.key)
        if text is None:
            raise ValueError(f"{self.origin}: the key is missing")
        return parse_strategy(text, self.origin)

    @staticmethod
    def _describe(strategy: Strategy) -> dict[str, object]:
        return {"strategy_id": strategy.strategy_id, "kill_switch": strategy.limits.kill_switch}
