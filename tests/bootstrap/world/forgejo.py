"""Forgejo: a fake server behind httpx's MockTransport, so the real `ForgejoClient` runs."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
from unrip_platform import names

from tests.bootstrap.world.state import ADMIN, ADMIN_PASSWORD, TOKENS_BY_SCOPES, World


class FakeForgejo:
    """Answers the API calls the bootstrap makes, from `world.forgejo`."""

    def __init__(self, world: World) -> None:
        self.world = world

    @property
    def data(self) -> dict[str, Any]:
        return self.world.forgejo

    def handle(self, request: httpx.Request) -> httpx.Response:
        world = self.world
        if not world.platform_up or ("deployment", "platform", "forgejo") not in world.objects:
            return httpx.Response(503, json={"message": "Forgejo is starting"})
        path, method = request.url.path, request.method
        if message := world.failing(f"forgejo.{method}"):
            return httpx.Response(500, json={"message": message})
        if path == "/v2/token" or path.startswith("/v2/"):
            return self._registry(request)
        expected = "Basic " + base64.b64encode(f"{ADMIN}:{ADMIN_PASSWORD}".encode()).decode()
        if request.headers.get("Authorization") != expected:
            return httpx.Response(401, json={"message": "unauthorized"})
        if method != "GET":
            world.mutate(f"forgejo.{method} {path}")
        return self._api(method, path.removeprefix("/api/v1"), request)

    def _api(self, method: str, path: str, request: httpx.Request) -> httpx.Response:
        data = self.data
        body = json.loads(request.content) if request.content else {}
        repo_path = f"/repos/{names.FORGEJO_ORG}/{names.FORGEJO_REPO}"
        match method, path:
            case "GET", "/version":
                return httpx.Response(200, json={"version": "15.0.7"})
            case "GET", "/admin/actions/runners":
                online = self.world.runner_registered and self.world.platform_up
                status = "idle" if online else "offline"
                return httpx.Response(
                    200, json=[{"id": 1, "status": status, "labels": ["unrip-host"]}]
                )
            case "GET", "/orgs/unrip":
                org = data.get("org")
                return httpx.Response(200, json=org) if org else httpx.Response(404, json={})
            case "POST", "/orgs":
                data["org"] = {"username": body["username"], "visibility": body["visibility"]}
                return httpx.Response(201, json=data["org"])
            case "PATCH", "/orgs/unrip":
                data["org"]["visibility"] = body["visibility"]
                return httpx.Response(200, json=data["org"])
            case "GET", _ if path == repo_path:
                repo = data.get("repo")
                return httpx.Response(200, json=repo) if repo else httpx.Response(404, json={})
            case "POST", "/orgs/unrip/repos":
                assert body["private"] is True
                data["repo"] = {"name": body["name"], "private": True}
                return httpx.Response(201, json=data["repo"])
            case "GET", _ if path == f"{repo_path}/branch_protections/main":
                rule = data.get("protection")
                return httpx.Response(200, json=rule) if rule else httpx.Response(404, json={})
            case "POST", _ if path == f"{repo_path}/branch_protections":
                assert data.get("repo") is not None and "protection" not in data
                data["protection"] = {"branch_name": body["rule_name"], **body}
                return httpx.Response(201, json=data["protection"])
            case "PATCH", _ if path == f"{repo_path}/branch_protections/main":
                data["protection"].update(body)
                return httpx.Response(200, json=data["protection"])
            case "GET", _ if path == f"{repo_path}/actions/secrets":
                return httpx.Response(200, json=[{"name": n} for n in data.get("secrets", {})])
            case "DELETE", _ if path.startswith(f"{repo_path}/actions/secrets/"):
                data.get("secrets", {}).pop(path.rsplit("/", 1)[1], None)
                return httpx.Response(204)
            case "GET", "/users/unrip-admin/tokens":
                tokens = data.get("tokens", {})
                return httpx.Response(200, json=[{"id": i, **token} for i, token in tokens.items()])
            case "POST", "/users/unrip-admin/tokens":
                # The scopes are recorded: tests read what each token may do.
                value = TOKENS_BY_SCOPES[tuple(body["scopes"])]
                tokens = data.setdefault("tokens", {})
                token_id = max(tokens, default=0) + 1
                tokens[token_id] = {"name": body["name"], "scopes": list(body["scopes"])}
                return httpx.Response(201, json={"id": token_id, "sha1": value})
            case "DELETE", _ if path.startswith("/users/unrip-admin/tokens/"):
                data.get("tokens", {}).pop(int(path.rsplit("/", 1)[1]), None)
                return httpx.Response(204)
            case "GET", _ if path == f"{repo_path}/branches/main":
                branch = data.get("branch")
                if branch is None:
                    return httpx.Response(404, json={})
                return httpx.Response(200, json={"commit": {"id": branch}})
            case "GET", _ if path == f"{repo_path}/actions/runs":
                return httpx.Response(200, json={"workflow_runs": self._runs(request)})
            case "GET", "/packages/unrip":
                return httpx.Response(200, json=data.get("packages", []))
        raise AssertionError(f"unexpected Forgejo call {method} {path}")

    def _runs(self, request: httpx.Request) -> list[dict[str, Any]]:
        head = request.url.params["head_sha"]
        answer = []
        for run in self.data.get("runs", []):
            if run.head != head:
                continue
            if run.status in ("waiting", "running") and self.world.runner_registered:
                run.status = "running"
                run.polls_left -= 1
                if run.polls_left <= 0:
                    # CI only: it tests, and builds or deploys nothing.
                    run.status = "failure" if self.world.failing("workflow") else "success"
            answer.append(
                {
                    "id": run.run_id,
                    "index_in_repo": run.run_id,
                    "status": run.status,
                    "commit_sha": run.head,
                    "html_url": f"http://127.0.0.1:30300/runs/{run.run_id}",
                }
            )
        return answer

    def _registry(self, request: httpx.Request) -> httpx.Response:
        self.world.agent_poll()  # the agent works while the bootstrap watches the registry
        if request.url.path == "/v2/token":
            return httpx.Response(200, json={"token": "anonymous-pull-token"})
        tag = request.url.path.rsplit("/", 1)[1]
        for package in self.data.get("packages", []):
            if package["version"] == tag:
                return httpx.Response(200, headers={"Docker-Content-Digest": package["digest"]})
        return httpx.Response(404)
