"""`invoke dev --prices` offers exactly the price sources the dev harness can run."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from unrip_dev.dev import PRICE_CHOICES
from unrip_dev.options import TypedTask


def test_the_dev_task_accepts_exactly_the_harness_price_choices() -> None:
    spec = importlib.util.spec_from_file_location("tasks", Path(__file__).parents[3] / "tasks.py")
    assert spec is not None and spec.loader is not None
    tasks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tasks)
    dev = tasks.dev
    assert isinstance(dev, TypedTask)
    kind = dev.kinds["prices"]
    assert [kind.convert(name) for name in PRICE_CHOICES] == list(PRICE_CHOICES)
    with pytest.raises(ValueError, match="expected one of calm, trending, adverse, live, static"):
        kind.convert("sunny")
