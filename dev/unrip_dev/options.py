"""Typed invoke task options: bad values end in one line naming the option, exit code 2.

invoke types an option from its default (``int`` only; floats and choices stay strings) and a
bad value ends in a ``ValueError`` traceback. ``typed_task`` gives each option a kind that
converts and checks the value while invoke parses the command line and, on a bad value, raises
invoke's ``Exit`` (printed as one line, exit code 2 as for a usage error). It also appends every
option's default to its ``--help`` text, so ``invoke --help TASK`` is the complete reference.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from invoke.exceptions import Exit
from invoke.parser.context import ParserContext
from invoke.tasks import Task, task

USAGE_ERROR: Final = 2


class OptionError(Exit):
    """A bad option value: invoke prints the one-line message and exits with code 2."""

    def __init__(self, option: str, message: str) -> None:
        super().__init__(f"{option}: {message}", code=USAGE_ERROR)


def flag_name(parameter: str) -> str:
    """The command-line spelling of a task parameter (``for_`` -> ``--for``)."""
    return "--" + parameter.strip("_").replace("_", "-")


@dataclass(frozen=True, slots=True)
class Kind:
    """How one option's text becomes a value: invoke calls it with the text it parsed."""

    option: str
    placeholder: str
    convert: Callable[[str], Any]

    @property
    def __name__(self) -> str:  # invoke's Argument.__repr__ reads kind.__name__
        return self.placeholder

    def __call__(self, text: Any) -> Any:
        try:
            return self.convert(str(text))
        except ValueError as error:
            raise OptionError(self.option, str(error)) from None


def _number(
    cast: type[int] | type[float], what: str, minimum: float | None, maximum: float | None
) -> Callable[[str], Any]:
    bounds = []
    if minimum is not None:
        bounds.append(f">= {minimum:g}")
    if maximum is not None:
        bounds.append(f"<= {maximum:g}")
    expected = what + (f" {' and '.join(bounds)}" if bounds else "")

    def convert(text: str) -> Any:
        try:
            value = cast(text)
        except ValueError:
            raise ValueError(f"expected {expected}, not {text!r}") from None
        if (
            (isinstance(value, float) and not math.isfinite(value))
            or (minimum is not None and value < minimum)
            or (maximum is not None and value > maximum)
        ):
            raise ValueError(f"expected {expected}, not {text!r}")
        return value

    return convert


def integer(minimum: int | None = None, maximum: int | None = None) -> Callable[[str], Kind]:
    """A whole number within bounds."""
    return lambda option: Kind(option, "INT", _number(int, "a whole number", minimum, maximum))


def number(minimum: float | None = None, maximum: float | None = None) -> Callable[[str], Kind]:
    """A decimal number within bounds."""
    return lambda option: Kind(option, "NUMBER", _number(float, "a number", minimum, maximum))


def choice(choices: Sequence[str]) -> Callable[[str], Kind]:
    """One of a fixed set of words."""

    def convert(text: str) -> str:
        if text not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}, not {text!r}")
        return text

    return lambda option: Kind(option, "|".join(choices), convert)


def _describe(default: Any) -> str:
    if isinstance(default, bool):
        return "on" if default else "off"
    if isinstance(default, float):
        return f"{default:g}"
    return str(default)


class TypedTask(Task[Any]):
    """A task whose options convert through their ``Kind`` (set by ``typed_task``)."""

    kinds: Mapping[str, Kind] = {}

    def arg_opts(self, name: str, default: str, taken_names: set[str]) -> dict[str, Any]:
        opts: dict[str, Any] = super().arg_opts(name, default, taken_names)
        kind = self.kinds.get(name)
        if kind is not None:
            opts["kind"] = kind
        return opts


def typed_task(
    *,
    help: Mapping[str, str],
    kinds: Mapping[str, Callable[[str], Kind]] | None = None,
    **task_options: Any,
) -> Callable[[Callable[..., Any]], TypedTask]:
    """``@task`` with typed options and every default in the help text.

    ``help`` must describe every option; an option whose default is ``None`` must say in its
    help text what happens without it (``default: ...``), which is checked here.
    """

    def decorate(body: Callable[..., Any]) -> TypedTask:
        parameters = list(inspect.signature(body).parameters.values())[1:]
        texts = dict(help)
        for parameter in parameters:
            text = texts.get(parameter.name)
            if text is None:
                raise TypeError(f"{body.__name__}: option {parameter.name!r} has no help text")
            if "default" in text or "required" in text:
                continue
            if parameter.default is inspect.Parameter.empty:
                texts[parameter.name] = f"{text} (required)"
                continue
            if parameter.default is None:
                raise TypeError(f"{body.__name__}: say what {parameter.name!r} defaults to")
            texts[parameter.name] = f"{text} (default: {_describe(parameter.default)})"
        made = task(klass=TypedTask, help=texts, **task_options)(body)
        assert isinstance(made, TypedTask)
        made.kinds = {name: factory(flag_name(name)) for name, factory in (kinds or {}).items()}
        return made

    return decorate


def _help_for(self: ParserContext, flag: str) -> tuple[str, str]:
    # invoke shows a value placeholder only for str and int options (others look like boolean
    # flags in --help); show each Kind's placeholder (NUMBER, auto|file|relay) instead.
    names, text = _original_help_for(self, flag)
    kind = self.flags[flag].kind
    if isinstance(kind, Kind):
        spelled = [
            f"{name}{' ' if len(name.strip('-')) == 1 else '='}{kind.placeholder}"
            for name in self.names_for(flag)
        ]
        names = ", ".join(sorted(spelled, key=len))
    return names, text


_original_help_for = ParserContext.help_for
ParserContext.help_for = _help_for  # type: ignore[method-assign]
