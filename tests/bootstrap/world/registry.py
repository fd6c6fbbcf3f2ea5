"""Public container registries: a fake speaking the OCI distribution protocol, for real clients.

Anonymous pulls as Docker Hub, Quay, Codeberg and registry.k8s.io answer them: a manifest
request without a token gets 401 and a `WWW-Authenticate: Bearer realm,service,scope`
challenge; the realm hands out a token for exactly that scope; the manifest endpoint answers
HEAD and GET with `Docker-Content-Digest`, and serves the multi-arch index only to a client
whose Accept header asks for one (others get the amd64 manifest, another digest). One
`handle` serves both httpx's MockTransport (the simulated world) and a real HTTP server on
127.0.0.1 (`serve`), so the real `RegistryClient` runs against either.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Final

import httpx
from unrip_platform.cluster.image_pins import ImageRef, tag_only_images
from unrip_platform.cluster.settings import Images

INDEX_TYPES: Final = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
SINGLE_TYPE: Final = "application/vnd.docker.distribution.manifest.v2+json"
SERVICE: Final = "registry.fake"


def digest_of(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


@dataclass
class FakeRegistry:
    """Every registry at once, keyed by repository and tag; `requests` records each call."""

    indexes: dict[tuple[str, str], bytes] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    down: set[str] = field(default_factory=set)  # repositories whose registry answers 503
    hiccups: int = 0  # the next manifest requests that answer 503, whatever the repository
    send_digest_header: bool = True

    @classmethod
    def with_platform_images(cls) -> FakeRegistry:
        registry = cls()
        for reference in tag_only_images(Images()).values():
            registry.publish(reference)
        return registry

    # --- what the publishers do -----------------------------------------------------------------

    def publish(self, reference: str, build: int = 1) -> str:
        """Push a multi-arch index for `reference`; returns its digest."""
        image = ImageRef.parse(reference)
        assert image.tag is not None
        body = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": INDEX_TYPES[0],
                "manifests": [
                    {
                        "platform": {"architecture": arch},
                        "digest": digest_of(f"{arch}{build}".encode()),
                    }
                    for arch in ("amd64", "arm64")
                ],
                "annotations": {"ref": reference, "build": str(build)},
            },
            sort_keys=True,
        ).encode()
        self.indexes[(image.repository, image.tag)] = body
        return digest_of(body)

    def digest(self, reference: str) -> str:
        image = ImageRef.parse(reference)
        return digest_of(self.indexes[(image.repository, str(image.tag))])

    def contacted(self) -> int:
        return len(self.requests)

    # --- the protocol ---------------------------------------------------------------------------

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.requests.append((request.method, f"{request.url.host}{path}"))
        if path == "/token":
            return self._token(request)
        if not path.startswith("/v2/") or "/manifests/" not in path:
            return httpx.Response(404, json={"errors": [{"code": "NOT_FOUND"}]})
        repository, _, tag = path.removeprefix("/v2/").partition("/manifests/")
        if repository in self.down or self.hiccups > 0:
            self.hiccups = max(0, self.hiccups - 1)
            return httpx.Response(503, text="service unavailable")
        scope = f"repository:{repository}:pull"
        if request.headers.get("Authorization") != f"Bearer anon.{scope}":
            realm = f"{request.url.scheme}://{request.url.netloc.decode()}/token"
            challenge = f'Bearer realm="{realm}",service="{SERVICE}",scope="{scope}"'
            return httpx.Response(
                401,
                headers={"WWW-Authenticate": challenge},
                json={"errors": [{"code": "UNAUTHORIZED"}]},
            )
        index = self.indexes.get((repository, tag))
        if index is None:
            return httpx.Response(404, json={"errors": [{"code": "MANIFEST_UNKNOWN"}]})
        accepted = request.headers.get("Accept", "")
        if any(kind in accepted for kind in INDEX_TYPES):
            body, kind = index, INDEX_TYPES[0]
        else:  # an old client: the amd64 image's own manifest, not the index
            body, kind = json.dumps({"mediaType": SINGLE_TYPE, "of": tag}).encode(), SINGLE_TYPE
        headers = {"Content-Type": kind, "Content-Length": str(len(body))}
        if self.send_digest_header:
            headers["Docker-Content-Digest"] = digest_of(body)
        if request.method == "HEAD":
            return httpx.Response(200, headers=headers)
        return httpx.Response(200, headers=headers, content=body)

    def _token(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        if params.get("service") != SERVICE or not params.get("scope", "").endswith(":pull"):
            return httpx.Response(400, json={"errors": [{"code": "DENIED"}]})
        return httpx.Response(200, json={"token": f"anon.{params['scope']}", "expires_in": 300})


@contextmanager
def serve(registry: FakeRegistry) -> Iterator[str]:
    """`registry` behind a real HTTP server on 127.0.0.1; yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            request = httpx.Request(
                self.command,
                f"http://{self.headers['Host']}{self.path}",
                headers=dict(self.headers.items()),
                content=self.rfile.read(length) if length else b"",
            )
            response = registry.handle(request)
            body = response.content
            self.send_response(response.status_code)
            for name, value in response.headers.items():
                if name.lower() != "content-length":
                    self.send_header(name, value)
            self.send_header(
                "Content-Length", response.headers.get("Content-Length", str(len(body)))
            )
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_GET(self) -> None:
            self._answer()

        def do_HEAD(self) -> None:
            self._answer()

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the test reads `registry.requests` instead."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
