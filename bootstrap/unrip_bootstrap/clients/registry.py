"""A public registry's digest for an image tag, through the OCI distribution API (httpx).

The anonymous pull flow every registry the platform uses speaks: ask for the manifest, get
401 with a `WWW-Authenticate: Bearer realm=…,service=…,scope=…` challenge, fetch a token
from the realm, ask again. The Accept header prefers the multi-arch index (OCI index, Docker
manifest list), so the digest is the one a node of any architecture pulls. `HEAD` is enough
where the registry sends `Docker-Content-Digest`; otherwise the manifest is fetched and
hashed, which is what the digest is by definition.

Transient failures (connection errors, 429, 5xx) are retried a few times with growing, jittered
pauses (stamina); anything else fails at once with the image and registry named.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Final, Protocol

import httpx
import stamina
from unrip_platform.cluster.image_pins import DIGEST, DOCKER_HUB, ImageRef

from unrip_bootstrap.clients.forgejo import MANIFEST_TYPES

# Where a registry's API lives when it is not at https://<registry name>.
API_HOSTS: Final = {DOCKER_HUB: "registry-1.docker.io"}
ATTEMPTS: Final = 4
FIRST_PAUSE_S: Final = 1.0
LONGEST_PAUSE_S: Final = 8.0
_CHALLENGE_PARAM = re.compile(r'(\w+)="([^"]*)"')


class RegistryError(RuntimeError):
    """The digest of an image could not be established; the message names image and registry."""


class DigestResolver(Protocol):
    def digest(self, reference: str) -> str:
        """The `sha256:…` digest `reference` (a tag) names at its registry right now."""
        ...


class _TransientError(Exception):
    pass


class RegistryClient:
    """Anonymous, read-only: it only ever asks registries which manifest a tag names."""

    def __init__(
        self,
        *,
        transport: httpx.BaseTransport | None = None,
        endpoints: Mapping[str, str] | None = None,
        timeout_s: float = 30,
    ) -> None:
        self._endpoints = dict(endpoints or {})
        self._http = httpx.Client(transport=transport, timeout=timeout_s, follow_redirects=True)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def base_url(self, registry: str) -> str:
        return self._endpoints.get(registry) or f"https://{API_HOSTS.get(registry, registry)}"

    def digest(self, reference: str) -> str:
        image = ImageRef.parse(reference)
        if image.tag is None:
            raise RegistryError(f"{reference}: no tag to resolve")
        retries = stamina.retry_context(
            on=_TransientError,
            attempts=ATTEMPTS,
            timeout=None,
            wait_initial=FIRST_PAUSE_S,
            wait_max=LONGEST_PAUSE_S,
        )
        try:
            for attempt in retries:
                with attempt:
                    return self._resolve(image)
        except _TransientError as exc:
            raise self._error(reference, image, f"{exc} (after {ATTEMPTS} tries)") from None
        except RegistryError as exc:
            raise self._error(reference, image, str(exc)) from None
        raise AssertionError("stamina ends in a return or a raise")

    def _error(self, reference: str, image: ImageRef, reason: str) -> RegistryError:
        return RegistryError(
            f"cannot resolve the digest of {reference} at {image.registry}: {reason}"
        )

    def _resolve(self, image: ImageRef) -> str:
        url = f"{self.base_url(image.registry)}/v2/{image.repository}/manifests/{image.tag}"
        headers = {"Accept": MANIFEST_TYPES}
        response = self._send("HEAD", url, headers)
        if response.status_code == 401:
            headers["Authorization"] = f"Bearer {self._token(response, image)}"
            response = self._send("HEAD", url, headers)
        digest = str(response.headers.get("Docker-Content-Digest", ""))
        if response.status_code == 200 and DIGEST.match(digest):
            return digest
        if response.status_code in (200, 405):  # no digest header, or no HEAD: hash the body
            response = self._send("GET", url, headers)
            if response.status_code == 200:
                return "sha256:" + hashlib.sha256(response.content).hexdigest()
        raise RegistryError(_status(response, f"{image.repository}:{image.tag}"))

    def _token(self, challenge: httpx.Response, image: ImageRef) -> str:
        header = challenge.headers.get("WWW-Authenticate", "")
        scheme, _, params = header.partition(" ")
        fields = dict(_CHALLENGE_PARAM.findall(params))
        if scheme.lower() != "bearer" or "realm" not in fields:
            raise RegistryError(f"401 without a bearer challenge ({header or 'no header'})")
        query = {"scope": fields.get("scope") or f"repository:{image.repository}:pull"}
        if "service" in fields:
            query["service"] = fields["service"]
        response = self._send("GET", fields["realm"], {}, params=query)
        if response.status_code != 200:
            raise RegistryError("token " + _status(response, fields["realm"]))
        try:
            body = response.json()
            token = body.get("token") or body.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise RegistryError(f"the token endpoint {fields['realm']} answered without a token")
        return token

    def _send(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        params: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        try:
            response = self._http.request(method, url, headers=headers, params=params)
        except httpx.TransportError as exc:
            raise _TransientError(f"unreachable ({type(exc).__name__}: {exc})") from None
        if response.status_code == 429 or response.status_code >= 500:
            raise _TransientError(f"HTTP {response.status_code} from {url}")
        return response


def _status(response: httpx.Response, what: str) -> str:
    if response.status_code == 404:
        return f"{what} not found (HTTP 404)"
    return f"HTTP {response.status_code} for {what}"
