"""The Forgejo client's requests, as Forgejo would receive them (httpx MockTransport)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable

import httpx
import pytest
from unrip_bootstrap.clients.forgejo import MANIFEST_TYPES, ForgejoClient, ForgejoError

pytestmark = pytest.mark.platform

ROOT = "http://127.0.0.1:30300/"
BASIC = "Basic " + base64.b64encode(b"unrip-admin:pw-123456").decode()


class Recorder:
    def __init__(self, answer: Callable[[httpx.Request], httpx.Response] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self._answer = answer or (lambda request: httpx.Response(200, json={}))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self._answer(request)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def body(self, index: int = -1) -> object:
        return json.loads(self.requests[index].content)


def client(recorder: Recorder) -> ForgejoClient:
    return ForgejoClient(ROOT, "unrip-admin", "pw-123456", transport=httpx.MockTransport(recorder))


def test_creates_a_public_organisation_as_the_admin() -> None:
    recorder = Recorder(lambda r: httpx.Response(201, json={}))
    client(recorder).create_org("unrip", visibility="public")

    assert (recorder.last.method, recorder.last.url.path) == ("POST", "/api/v1/orgs")
    assert recorder.body() == {"username": "unrip", "visibility": "public"}
    assert recorder.last.headers["Authorization"] == BASIC


def test_creates_a_private_repository_with_main_as_default_branch() -> None:
    recorder = Recorder(lambda r: httpx.Response(201, json={}))
    client(recorder).create_org_repo("unrip", "unrip", private=True, description="d")

    assert recorder.last.url.path == "/api/v1/orgs/unrip/repos"
    assert recorder.body() == {
        "name": "unrip",
        "private": True,
        "description": "d",
        "default_branch": "main",
        "auto_init": False,
    }


def test_deletes_a_retired_actions_secret_by_name() -> None:
    recorder = Recorder(lambda r: httpx.Response(204))
    client(recorder).delete_actions_secret("unrip", "unrip", "UNRIP_DEPLOYER_TOKEN")

    request = recorder.last
    assert request.method == "DELETE"
    assert request.url.path == "/api/v1/repos/unrip/unrip/actions/secrets/UNRIP_DEPLOYER_TOKEN"


def test_protects_a_branch_by_rule_name_and_edits_it_without_renaming() -> None:
    recorder = Recorder(lambda r: httpx.Response(201, json={}))
    settings = {"rule_name": "main", "enable_push_whitelist": True}
    forgejo = client(recorder)
    forgejo.create_branch_protection("unrip", "unrip", settings)
    assert (recorder.last.method, recorder.last.url.path) == (
        "POST",
        "/api/v1/repos/unrip/unrip/branch_protections",
    )
    assert recorder.body() == settings
    forgejo.edit_branch_protection("unrip", "unrip", "main", settings)
    assert (recorder.last.method, recorder.last.url.path) == (
        "PATCH",
        "/api/v1/repos/unrip/unrip/branch_protections/main",
    )
    assert recorder.body() == {"enable_push_whitelist": True}


def test_a_missing_branch_protection_reads_as_none() -> None:
    recorder = Recorder(lambda r: httpx.Response(404, json={"message": "not found"}))
    assert client(recorder).get_branch_protection("unrip", "unrip", "main") is None
    assert recorder.last.url.path == "/api/v1/repos/unrip/unrip/branch_protections/main"


def test_lists_secret_names_in_upper_case() -> None:
    recorder = Recorder(lambda r: httpx.Response(200, json=[{"name": "unrip_registry_user"}]))
    assert client(recorder).list_actions_secrets("unrip", "unrip") == {"UNRIP_REGISTRY_USER"}


def test_access_tokens_are_created_listed_and_deleted_for_the_admin() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(201, json={"id": 4, "name": "ci", "sha1": "0123abcd"})
        if request.method == "GET":
            return httpx.Response(200, json=[{"id": 4, "name": "ci"}])
        return httpx.Response(204)

    recorder = Recorder(answer)
    forgejo = client(recorder)

    assert forgejo.create_token("ci", ["write:package"]) == "0123abcd"
    assert recorder.body() == {"name": "ci", "scopes": ["write:package"]}
    assert forgejo.list_tokens() == [{"id": 4, "name": "ci"}]
    forgejo.delete_token(4)
    assert [(r.method, r.url.path) for r in recorder.requests] == [
        ("POST", "/api/v1/users/unrip-admin/tokens"),
        ("GET", "/api/v1/users/unrip-admin/tokens"),
        ("DELETE", "/api/v1/users/unrip-admin/tokens/4"),
    ]


def test_runners_come_from_the_admin_api_in_either_list_shape() -> None:
    runners = [{"id": 1, "status": "idle", "labels": ["unrip-host"]}]
    recorder = Recorder(lambda r: httpx.Response(200, json=runners))
    assert client(recorder).list_runners() == runners
    assert recorder.last.url.path == "/api/v1/admin/actions/runners"

    wrapped = Recorder(lambda r: httpx.Response(200, json={"runners": runners}))
    assert client(wrapped).list_runners() == runners


def test_runs_are_asked_for_one_commit_and_returned_newest_first() -> None:
    runs = {"workflow_runs": [{"id": 3, "status": "success"}, {"id": 9, "status": "running"}]}
    recorder = Recorder(lambda r: httpx.Response(200, json=runs))

    found = client(recorder).list_runs("unrip", "unrip", "abc123")

    assert [run["id"] for run in found] == [9, 3]
    assert recorder.last.url.path == "/api/v1/repos/unrip/unrip/actions/runs"
    assert recorder.last.url.params["head_sha"] == "abc123"


def test_missing_things_are_none_not_errors() -> None:
    recorder = Recorder(lambda r: httpx.Response(404, json={"message": "not found"}))
    forgejo = client(recorder)
    assert forgejo.get_org("unrip") is None
    assert forgejo.get_repo("unrip", "unrip") is None
    assert forgejo.branch_head("unrip", "unrip", "main") is None


def test_the_newest_tag_is_chosen_and_digest_only_versions_are_skipped() -> None:
    packages = [
        {"id": 1, "name": "unrip", "version": "old", "created_at": "2026-01-01T00:00:00Z"},
        {"id": 2, "name": "unrip", "version": "sha256:ff", "created_at": "2026-03-01T00:00:00Z"},
        {"id": 3, "name": "unrip", "version": "new", "created_at": "2026-02-01T00:00:00Z"},
        {"id": 4, "name": "other", "version": "newest", "created_at": "2026-04-01T00:00:00Z"},
    ]
    recorder = Recorder(lambda r: httpx.Response(200, json=packages))

    assert client(recorder).latest_container_tag("unrip", "unrip") == "new"
    assert recorder.last.url.path == "/api/v1/packages/unrip"
    assert recorder.last.url.params["type"] == "container"


def test_manifest_digest_uses_a_registry_token_and_no_basic_auth() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/token":
            return httpx.Response(200, json={"token": "bearer-1"})
        return httpx.Response(200, headers={"Docker-Content-Digest": "sha256:" + "a" * 64})

    recorder = Recorder(answer)

    assert client(recorder).manifest_digest("unrip", "unrip", "v1") == "sha256:" + "a" * 64
    token_request, head = recorder.requests
    assert token_request.url.params["scope"] == "repository:unrip/unrip:pull"
    assert token_request.headers["Authorization"] == BASIC
    assert (head.method, head.url.path) == ("HEAD", "/v2/unrip/unrip/manifests/v1")
    assert head.headers["Authorization"] == "Bearer bearer-1"
    assert head.headers["Accept"] == MANIFEST_TYPES


def test_errors_carry_the_status_and_forgejos_message() -> None:
    recorder = Recorder(lambda r: httpx.Response(422, json={"message": "name is reserved"}))
    with pytest.raises(ForgejoError, match="POST api/v1/orgs: HTTP 422: name is reserved") as info:
        client(recorder).create_org("admin", visibility="public")
    assert info.value.status == 422


def test_an_unreachable_forgejo_is_a_forgejo_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(ForgejoError, match="Forgejo unreachable") as info:
        ForgejoClient(ROOT, "u", "p", transport=httpx.MockTransport(refuse)).version()
    assert info.value.status == 0
