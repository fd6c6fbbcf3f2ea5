"""Shared fixtures of the Hetzner project's offline tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pulumi
import pytest
from unrip_platform.hetzner import PROJECT, HetznerSettings, settings_from_config

from tests.platform.hetzner.pulumi_doubles import FakeEngine
from tests.platform.hetzner.sample_config import STACK, raw_config


@pytest.fixture
def make_settings() -> Callable[..., HetznerSettings]:
    def build(**overrides: Any) -> HetznerSettings:
        return settings_from_config(raw_config(**overrides), stack=STACK)

    return build


@pytest.fixture
def engine() -> Iterator[FakeEngine]:
    fake = FakeEngine(project=PROJECT, stack=STACK)
    yield fake
    pulumi.runtime.set_all_config({})
