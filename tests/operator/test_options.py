"""typed_task refuses a task whose help would hide an option or its default."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from invoke.context import Context
from unrip_dev.options import Kind, OptionError, choice, integer, number, typed_task


def test_an_option_without_help_is_refused_when_tasks_py_loads() -> None:
    with pytest.raises(TypeError, match="'rate' has no help text"):

        @typed_task(help={})
        def run(c: Context, rate: float = 1.0) -> None: ...


def test_an_option_defaulting_to_none_must_say_what_that_means() -> None:
    with pytest.raises(TypeError, match="say what 'feed' defaults to"):

        @typed_task(help={"feed": "a feed file"})
        def run(c: Context, feed: str | None = None) -> None: ...


def test_defaults_are_appended_to_the_help_text() -> None:
    @typed_task(help={"rate": "per second", "loud": "shout"})
    def run(c: Context, rate: float = 300.0, loud: bool = False) -> None: ...

    assert run.help == {"rate": "per second (default: 300)", "loud": "shout (default: off)"}


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        (integer(minimum=1), "0", "--n: expected a whole number >= 1, not '0'"),
        (integer(), "1.5", "--n: expected a whole number, not '1.5'"),
        (number(0, 1), "nan", "--n: expected a number >= 0 and <= 1, not 'nan'"),
        (choice(("a", "b")), "c", "--n: expected one of a, b, not 'c'"),
    ],
)
def test_a_bad_value_becomes_an_exit_2_naming_the_option(
    kind: Callable[[str], Kind], text: str, message: str
) -> None:
    with pytest.raises(OptionError) as raised:
        kind("--n")(text)
    assert raised.value.message == message
    assert raised.value.code == 2


def test_good_values_convert() -> None:
    assert integer(minimum=0)("--n")("7") == 7
    assert number()("--n")("2.5") == 2.5
    assert choice(("fast",))("--n")("fast") == "fast"
