"""Shared fixtures for the NEAR Intents adapter tests."""

from __future__ import annotations

import os

import pytest
from unrip.venues.near_intents.settings import ENV_PREFIX


@pytest.fixture(autouse=True)
def hermetic_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Settings read UNRIP_NEAR_INTENTS_*; an operator's shell must not change test results."""
    for name in list(os.environ):
        if name.startswith(ENV_PREFIX):
            monkeypatch.delenv(name)
