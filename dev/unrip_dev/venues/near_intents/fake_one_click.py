"""A stand-in for 1Click's ``GET /v0/tokens`` on 127.0.0.1, for the live price source's tests.

Speaks the endpoint's wire format: HTTP/1.1, ``application/json``, a JSON array of tokens
(``assetId``, ``decimals``, ``blockchain``, ``symbol``, ``price``, ``priceUpdatedAt``,
``contractAddress``). Each request is answered with the next body of a recorded price path
(``data/prices_*.jsonl`` of the venue), the last one repeating; ``fail_next`` makes the next
requests answer 503 as an overloaded API would. Runs in a thread (``with FakeOneClick(...)``),
so synchronous and async tests can use it alike.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType

from unrip.venues.feed import parse_line


def bodies(path: Path) -> Iterator[str]:
    previous = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            previous, text = parse_line(line, previous_ms=previous)
            yield text


class FakeOneClick:
    def __init__(self, path: Path) -> None:
        self.bodies = list(bodies(path))
        self.requests = 0
        self.fail_next = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v0/tokens"

    def __enter__(self) -> FakeOneClick:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _answer(self) -> tuple[int, str]:
        with self._lock:
            if self.fail_next > 0:
                self.fail_next -= 1
                return 503, '{"message":"Service Unavailable"}'
            body = self.bodies[min(self.requests, len(self.bodies) - 1)]
            self.requests += 1
            return 200, body

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                if self.path != "/v0/tokens":
                    status, body = 404, '{"message":"Not Found"}'
                else:
                    status, body = fake._answer()
                payload = body.encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    return  # the poller went away mid-answer (stopped): nothing to serve

            def log_message(self, format: str, *args: object) -> None:
                return  # quiet: tests read the server's counters, not its log

        return Handler
