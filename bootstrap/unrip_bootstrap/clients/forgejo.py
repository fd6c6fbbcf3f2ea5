"""Forgejo's REST API (and its container registry's read side) with httpx, as the admin.

Only the calls the bootstrap needs: the organisation, the repository, main's branch protection,
Actions secrets (to delete retired ones), the deploy agent's access tokens, runners, workflow
runs, packages and a manifest digest.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import quote

import httpx

MANIFEST_TYPES: Final = ", ".join(
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


class ForgejoError(RuntimeError):
    """Forgejo answered with an error; `status` is the HTTP status (0: unreachable)."""

    def __init__(self, message: str, status: int = 0) -> None:
        super().__init__(message)
        self.status = status


class ForgejoClient:
    """A session against one Forgejo at `root_url` (e.g. http://127.0.0.1:30300/)."""

    def __init__(
        self,
        root_url: str,
        username: str,
        password: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout_s: float = 30,
    ) -> None:
        self.root_url = root_url.rstrip("/") + "/"
        self.username = username
        self._http = httpx.Client(
            base_url=self.root_url,
            auth=httpx.BasicAuth(username, password),
            transport=transport,
            timeout=timeout_s,
            headers={"Accept": "application/json"},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ForgejoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- plumbing -------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: dict[str, Any] | None = None,
        allow_404: bool = False,
    ) -> httpx.Response | None:
        try:
            response = self._http.request(method, path, json=json, params=params)
        except httpx.HTTPError as exc:
            raise ForgejoError(f"{method} {path}: Forgejo unreachable ({exc})") from None
        if allow_404 and response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise ForgejoError(
                f"{method} {path}: HTTP {response.status_code}: {_message(response)}",
                response.status_code,
            )
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._request(method, path, **kwargs)
        return None if response is None or not response.content else response.json()

    @staticmethod
    def _api(path: str) -> str:
        return "api/v1/" + path.lstrip("/")

    # --- instance -------------------------------------------------------------------------------

    def version(self) -> str:
        return str(self._json("GET", self._api("version"))["version"])

    def list_runners(self) -> list[dict[str, Any]]:
        """Every runner of the instance (site admin), with status offline/idle/active."""
        data = self._json("GET", self._api("admin/actions/runners"), params={"limit": 50})
        if isinstance(data, dict):
            runners: list[dict[str, Any]] = data.get("runners") or data.get("entries") or []
            return runners
        return list(data or [])

    # --- organisation and repository ------------------------------------------------------------

    def get_org(self, org: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self._json(
            "GET", self._api(f"orgs/{quote(org)}"), allow_404=True
        )
        return found

    def create_org(self, org: str, *, visibility: str) -> None:
        self._request("POST", self._api("orgs"), json={"username": org, "visibility": visibility})

    def set_org_visibility(self, org: str, visibility: str) -> None:
        self._request("PATCH", self._api(f"orgs/{quote(org)}"), json={"visibility": visibility})

    def get_repo(self, owner: str, repo: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self._json(
            "GET", self._api(f"repos/{quote(owner)}/{quote(repo)}"), allow_404=True
        )
        return found

    def create_org_repo(self, org: str, repo: str, *, private: bool, description: str) -> None:
        self._request(
            "POST",
            self._api(f"orgs/{quote(org)}/repos"),
            json={
                "name": repo,
                "private": private,
                "description": description,
                "default_branch": "main",
                "auto_init": False,
            },
        )

    def branch_head(self, owner: str, repo: str, branch: str) -> str | None:
        data = self._json(
            "GET",
            self._api(f"repos/{quote(owner)}/{quote(repo)}/branches/{quote(branch)}"),
            allow_404=True,
        )
        return None if data is None else str(data["commit"]["id"])

    def get_branch_protection(self, owner: str, repo: str, rule: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self._json(
            "GET",
            self._api(f"repos/{quote(owner)}/{quote(repo)}/branch_protections/{quote(rule)}"),
            allow_404=True,
        )
        return found

    def create_branch_protection(self, owner: str, repo: str, settings: dict[str, Any]) -> None:
        """Create the rule ``settings["rule_name"]`` (Forgejo's CreateBranchProtectionOption)."""
        self._request(
            "POST",
            self._api(f"repos/{quote(owner)}/{quote(repo)}/branch_protections"),
            json=settings,
        )

    def edit_branch_protection(
        self, owner: str, repo: str, rule: str, settings: dict[str, Any]
    ) -> None:
        """Change the named rule's settings (EditBranchProtectionOption: no ``rule_name``)."""
        self._request(
            "PATCH",
            self._api(f"repos/{quote(owner)}/{quote(repo)}/branch_protections/{quote(rule)}"),
            json={k: v for k, v in settings.items() if k != "rule_name"},
        )

    # --- Actions --------------------------------------------------------------------------------

    def list_actions_secrets(self, owner: str, repo: str) -> set[str]:
        data = self._json(
            "GET",
            self._api(f"repos/{quote(owner)}/{quote(repo)}/actions/secrets"),
            params={"limit": 50},
        )
        return {str(item["name"]).upper() for item in data or []}

    def delete_actions_secret(self, owner: str, repo: str, name: str) -> None:
        self._request(
            "DELETE",
            self._api(f"repos/{quote(owner)}/{quote(repo)}/actions/secrets/{quote(name)}"),
        )

    def list_runs(self, owner: str, repo: str, head_sha: str) -> list[dict[str, Any]]:
        """Workflow runs of `head_sha`, newest first."""
        data = self._json(
            "GET",
            self._api(f"repos/{quote(owner)}/{quote(repo)}/actions/runs"),
            params={"head_sha": head_sha, "limit": 20},
        )
        runs: list[dict[str, Any]] = (data or {}).get("workflow_runs") or []
        return sorted(runs, key=lambda run: int(run.get("id", 0)), reverse=True)

    # --- access tokens --------------------------------------------------------------------------

    def list_tokens(self) -> list[dict[str, Any]]:
        tokens: list[dict[str, Any]] = (
            self._json("GET", self._api(f"users/{quote(self.username)}/tokens")) or []
        )
        return tokens

    def delete_token(self, token_id: int) -> None:
        self._request("DELETE", self._api(f"users/{quote(self.username)}/tokens/{token_id}"))

    def create_token(self, name: str, scopes: list[str]) -> str:
        """A new access token of the admin; Forgejo shows its value only in this answer."""
        data = self._json(
            "POST",
            self._api(f"users/{quote(self.username)}/tokens"),
            json={"name": name, "scopes": scopes},
        )
        return str(data["sha1"])

    # --- packages and the registry --------------------------------------------------------------

    def latest_container_tag(self, owner: str, image: str) -> str | None:
        """The most recently pushed tag of `owner/image` (digest-only versions skipped)."""
        data = self._json(
            "GET",
            self._api(f"packages/{quote(owner)}"),
            params={"type": "container", "q": image, "limit": 50},
        )
        tags = [
            item
            for item in data or []
            if item.get("name") == image and not str(item.get("version", "")).startswith("sha256:")
        ]
        if not tags:
            return None
        newest = max(tags, key=lambda item: (str(item.get("created_at", "")), int(item["id"])))
        return str(newest["version"])

    def manifest_digest(self, owner: str, image: str, tag: str) -> str:
        """The digest the registry serves for `owner/image:tag` (for an `@sha256:` reference)."""
        repository = f"{owner}/{image}"
        token = self._json(
            "GET",
            "v2/token",
            params={"scope": f"repository:{repository}:pull", "service": "container_registry"},
        )["token"]
        try:
            response = self._http.head(
                f"v2/{repository}/manifests/{quote(tag)}",
                headers={"Authorization": f"Bearer {token}", "Accept": MANIFEST_TYPES},
                auth=httpx.Auth(),  # the bearer token only
            )
        except httpx.HTTPError as exc:
            raise ForgejoError(f"registry unreachable ({exc})") from None
        digest = response.headers.get("Docker-Content-Digest", "")
        if response.status_code >= 400 or not digest.startswith("sha256:"):
            raise ForgejoError(
                f"registry: no manifest for {repository}:{tag} (HTTP {response.status_code})",
                response.status_code,
            )
        return str(digest)


def _message(response: httpx.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(data, dict) and "message" in data:
        return str(data["message"])
    return str(data)[:200]
