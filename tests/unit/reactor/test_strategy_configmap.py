"""The reactor's strategy from a ConfigMap, read through a stand-in for the Kubernetes API.

No API server runs here, so the real HTTP client talks to ``FakeApiServer`` through httpx's
MockTransport: the requests it builds (path, bearer token) and the answers it handles (200,
403, 404, connection errors) are those of the real API.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from unrip.reactor import status as reactor_status
from unrip.reactor.configmap import (
    ConfigMapSnapshot,
    ConfigMapUnavailableError,
    InClusterConfigMapReader,
    StrategyConfigMap,
    service_account_namespace,
)
from unrip.reactor.strategy import DEFAULT_STRATEGY_PATH, StrategyFile

NAMESPACE = "apps"
NAME = "reactor-strategy"
TOKEN = "token-abc-123"
GOOD = DEFAULT_STRATEGY_PATH.read_text()


class FakeApiServer:
    """The slice of the Kubernetes API the reactor uses: GET of one ConfigMap, RBAC-checked."""

    def __init__(self) -> None:
        self.configmaps: dict[tuple[str, str], dict[str, str]] = {}
        self.versions: dict[tuple[str, str], int] = {}
        self.readable = {(NAMESPACE, NAME)}  # what the reactor's Role grants
        self.down = False
        self.requests: list[httpx.Request] = []

    def apply(self, data: dict[str, str], namespace: str = NAMESPACE, name: str = NAME) -> None:
        """What `kubectl apply` of a changed ConfigMap does: new data, new resourceVersion."""
        key = (namespace, name)
        self.configmaps[key] = dict(data)
        self.versions[key] = self.versions.get(key, 0) + 1

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if self.down:
            raise httpx.ConnectError("connection refused", request=request)
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return _status(401, "Unauthorized")
        parts = request.url.path.strip("/").split("/")
        if request.method != "GET" or parts[:3] != ["api", "v1", "namespaces"]:
            return _status(404, "not found")
        key = (parts[3], parts[5])
        if key not in self.readable:
            return _status(403, f'configmaps "{key[1]}" is forbidden')
        if key not in self.configmaps:
            return _status(404, f'configmaps "{key[1]}" not found')
        body = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": key[1],
                "namespace": key[0],
                "resourceVersion": str(self.versions[key]),
            },
            "data": self.configmaps[key],
        }
        return httpx.Response(200, json=body)


def _status(code: int, message: str) -> httpx.Response:
    return httpx.Response(code, json={"kind": "Status", "status": "Failure", "message": message})


@pytest.fixture
def api() -> FakeApiServer:
    server = FakeApiServer()
    server.apply({"strategy.yaml": GOOD})
    return server


@pytest.fixture
def credentials(tmp_path: Path) -> Path:
    (tmp_path / "token").write_text(TOKEN + "\n")
    (tmp_path / "namespace").write_text(NAMESPACE)
    return tmp_path


def reader_for(api: FakeApiServer, credentials: Path) -> InClusterConfigMapReader:
    return InClusterConfigMapReader(
        credentials=credentials, transport=httpx.MockTransport(api.handle)
    )


async def live_strategy(
    api: FakeApiServer, credentials: Path, *, max_staleness_s: float = 30.0
) -> StrategyConfigMap:
    live = StrategyConfigMap(
        reader_for(api, credentials), NAMESPACE, NAME, max_staleness_s=max_staleness_s
    )
    await live.start(now=0.0)
    return live


def kill_switch(live: StrategyConfigMap) -> bool:
    return live.current.limits.kill_switch


class NotifyingReader:
    """The real reader, plus an event per completed read (so a test waits for a poll)."""

    def __init__(self, inner: InClusterConfigMapReader) -> None:
        self.inner = inner
        self.read_done = asyncio.Event()

    async def read(self, namespace: str, name: str) -> ConfigMapSnapshot:
        try:
            return await self.inner.read(namespace, name)
        finally:
            self.read_done.set()

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_reads_the_configmap_with_the_pods_token(
    api: FakeApiServer, credentials: Path
) -> None:
    live = await live_strategy(api, credentials)
    assert kill_switch(live) is False
    request = api.requests[-1]
    assert request.url.path == f"/api/v1/namespaces/{NAMESPACE}/configmaps/{NAME}"
    assert request.url.host == "kubernetes.default.svc"
    assert service_account_namespace(credentials) == NAMESPACE


async def test_an_applied_kill_switch_stops_trading_at_the_next_poll(
    api: FakeApiServer, credentials: Path
) -> None:
    live = await live_strategy(api, credentials)
    api.apply({"strategy.yaml": GOOD.replace("kill_switch: false", "kill_switch: true")})
    assert live.refresh(now=0.5) is False  # not read yet: nothing changes
    assert await live.poll_once(now=1.0)
    assert live.refresh(now=1.0) is True
    assert kill_switch(live) is True
    assert live.reloads == 1
    assert live.refresh(now=1.1) is False  # same resourceVersion: nothing to apply


async def test_the_poller_picks_up_a_change_within_its_interval(
    api: FakeApiServer, credentials: Path
) -> None:
    reader = NotifyingReader(reader_for(api, credentials))
    live = StrategyConfigMap(reader, NAMESPACE, NAME, poll_interval_s=0.05)
    await live.start()
    stop = asyncio.Event()
    poller = asyncio.create_task(live.poll(stop))
    api.apply({"strategy.yaml": GOOD.replace("spread_bps: 30", "spread_bps: 45")})
    reader.read_done.clear()
    async with asyncio.timeout(5):
        await reader.read_done.wait()  # the first poll after the apply
    stop.set()
    await poller
    assert live.refresh() is True
    assert live.current.spread_bps == 45


async def test_the_poller_forces_the_kill_switch_with_no_batch_arriving(
    api: FakeApiServer, credentials: Path
) -> None:
    """With no demands flowing nobody calls refresh(); the stale flag (and its alert) must
    still show once the ConfigMap has been unreadable past its budget."""
    reader = NotifyingReader(reader_for(api, credentials))
    live = StrategyConfigMap(reader, NAMESPACE, NAME, poll_interval_s=0.01, max_staleness_s=0.001)
    await live.start()
    api.down = True
    stop = asyncio.Event()
    poller = asyncio.create_task(live.poll(stop))
    for _ in range(2):  # the second read starts after the first one's staleness check
        reader.read_done.clear()
        async with asyncio.timeout(5):
            await reader.read_done.wait()
    stop.set()
    await poller
    assert live.stale is True
    assert kill_switch(live) is True


async def test_a_broken_edit_turns_the_kill_switch_on_until_a_valid_one(
    api: FakeApiServer, credentials: Path
) -> None:
    live = await live_strategy(api, credentials)
    api.apply({"strategy.yaml": "limits: ["})
    await live.poll_once(now=1.0)
    assert live.refresh(now=1.0) is True  # fail closed: the operator meant to change it
    assert kill_switch(live) is True
    assert live.current.spread_bps == 30  # the last good strategy, emitting nothing
    assert live.errors == 1
    api.apply({"other-key": GOOD})  # the key itself removed: still closed
    await live.poll_once(now=2.0)
    assert live.refresh(now=2.0) is False
    assert kill_switch(live) is True and live.errors == 2
    api.apply({"strategy.yaml": GOOD.replace("spread_bps: 30", "spread_bps: 40")})
    await live.poll_once(now=3.0)
    assert live.refresh(now=3.0) is True
    assert kill_switch(live) is False and live.current.spread_bps == 40


async def test_an_unreachable_api_keeps_the_strategy_then_fails_closed(
    api: FakeApiServer, credentials: Path
) -> None:
    live = await live_strategy(api, credentials, max_staleness_s=30)
    api.down = True
    assert await live.poll_once(now=10.0) is False
    assert live.refresh(now=10.0) is False
    assert kill_switch(live) is False  # within the staleness budget
    assert live.refresh(now=31.0) is True  # nobody could stop it any more: stop trading
    assert kill_switch(live) is True
    assert live.stale is True  # what unrip_reactor_strategy_stale and /status report
    shown = reactor_status.kill_switch(live.current, live)
    assert shown["on"] is True and shown["forced_by_staleness"] is True
    assert "not read for more than 30s" in shown["reason"]
    assert live.current.spread_bps == 30  # everything else is the last good strategy
    api.down = False
    assert await live.poll_once(now=32.0)
    assert live.refresh(now=32.0) is True
    assert kill_switch(live) is False
    assert live.stale is False


async def test_start_fails_without_a_readable_valid_configmap(
    api: FakeApiServer, credentials: Path
) -> None:
    api.readable.clear()
    with pytest.raises(ConfigMapUnavailableError, match="forbidden"):
        await live_strategy(api, credentials)
    api.readable.add((NAMESPACE, NAME))
    api.apply({"strategy.yaml": "strategy_id: x"})
    with pytest.raises(ValueError, match="invalid strategy"):
        await live_strategy(api, credentials)


async def test_the_token_is_reread_and_never_in_errors(
    api: FakeApiServer, credentials: Path
) -> None:
    live = await live_strategy(api, credentials)
    (credentials / "token").write_text("rotated-token")  # the kubelet rotated it: now wrong
    assert await live.poll_once(now=1.0) is False
    reader = reader_for(api, credentials)
    with pytest.raises(ConfigMapUnavailableError) as failure:
        await reader.read(NAMESPACE, NAME)
    assert "401" in str(failure.value)
    assert "rotated-token" not in str(failure.value)
    assert api.requests[-1].headers["Authorization"] == "Bearer rotated-token"
    await reader.aclose()


async def test_a_non_configmap_answer_is_unavailable(credentials: Path) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=json.dumps({"kind": "Status"}))

    reader = InClusterConfigMapReader(
        credentials=credentials, transport=httpx.MockTransport(handler)
    )
    with pytest.raises(ConfigMapUnavailableError, match="not a ConfigMap"):
        await reader.read(NAMESPACE, NAME)
    await reader.aclose()


def test_status_names_a_kill_switch_set_in_the_strategy_and_nothing_when_off(
    tmp_path: Path,
) -> None:
    path = tmp_path / "strategy.yaml"
    path.write_text(DEFAULT_STRATEGY_PATH.read_text())
    source = StrategyFile(path)
    assert reactor_status.kill_switch(source.current, source)["reason"] is None
    limits = source.current.limits.model_copy(update={"kill_switch": True})
    stopped = source.current.model_copy(update={"limits": limits})
    shown = reactor_status.kill_switch(stopped, source)
    assert shown == {
        "on": True,
        "forced_by_staleness": False,
        "reason": f"kill_switch: true in the strategy (file {path})",
    }
