"""One place that knows every secret value, so nothing the bootstrap prints or logs can carry one.

Secrets are registered the moment they are read (secret files, stack outputs, Kubernetes
Secrets, generated tokens). Every line for the console, the log file, the checkpoint file and
every error message passes through `Redactor.redact` first: a secret that reaches an exception
message from a library (a CLI's stderr, an HTTP error body) is still masked.
"""

from __future__ import annotations

import base64
import logging
import threading
from typing import Final

MASK: Final = "***"
# Shorter values would mask ordinary words; no real secret here is this short.
MIN_SECRET_LENGTH: Final = 6


class Redactor:
    """Replaces every registered secret (and its base64 form) with `***`."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._lock = threading.Lock()

    def add(self, value: str | None) -> None:
        """Register a secret; its base64 encoding too (kubeconfigs and Secrets carry that)."""
        if value is None:
            return
        text = value.strip()
        if len(text) < MIN_SECRET_LENGTH:
            return
        encoded = base64.b64encode(text.encode()).decode()
        with self._lock:
            self._values.update({text, value, encoded, encoded.rstrip("=")})
            # A multi-line secret (a private key, a certificate) also leaks line by line.
            self._values.update(
                line.strip() for line in text.splitlines() if len(line.strip()) >= 16
            )

    def redact(self, text: str) -> str:
        """`text` with every registered secret masked, longest first (no partial leftovers)."""
        with self._lock:
            values = sorted(self._values, key=len, reverse=True)
        for value in values:
            if value and value in text:
                text = text.replace(value, MASK)
        return text


class RedactingFormatter(logging.Formatter):
    """Formats the record (traceback included), then masks secrets in the result."""

    def __init__(self, redactor: Redactor, fmt: str | None = None) -> None:
        super().__init__(fmt or "%(asctime)s %(levelname)s %(name)s: %(message)s")
        self._redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        return self._redactor.redact(super().format(record))
