"""What the operator sees: one line per step with its timing, details indented beneath.

Everything goes through the redactor before it reaches the console or the log file, and is
printed as plain text (no rich markup), so no value can inject formatting either.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from unrip_bootstrap.redact import RedactingFormatter, Redactor

log = logging.getLogger("unrip_bootstrap")


class Reporter:
    def __init__(self, console: Console, redactor: Redactor) -> None:
        self.console = console
        self._redactor = redactor
        self._last_progress = ""

    def _print(self, text: str, style: str = "") -> None:
        clean = self._redactor.redact(text)
        self.console.print(Text(clean, style=style), soft_wrap=True)
        log.info(clean)

    def heading(self, text: str) -> None:
        self._print(text, "bold")

    def step_started(self, index: int, total: int, name: str, title: str) -> None:
        self._print(f"[{index}/{total}] {name}: {title}", "bold cyan")

    def step_finished(self, outcome: str, detail: str, seconds: float) -> None:
        style = {"done": "green", "skipped": "dim green", "planned": "yellow"}.get(outcome, "")
        self._print(f"      {outcome} in {seconds:.1f} s: {detail}", style)

    def step_failed(self, name: str, reason: str, seconds: float, resume: str) -> None:
        self._print(f"      FAILED after {seconds:.1f} s", "bold red")
        for line in reason.splitlines() or [""]:
            self._print(f"      {line}", "red")
        self._print(f"      step: {name}. {resume}", "yellow")

    def progress(self, text: str) -> None:
        """A waiting step's latest observation, printed only when it changes."""
        if text != self._last_progress:
            self._last_progress = text
            self.detail(text)

    def detail(self, text: str) -> None:
        for line in text.splitlines():
            self._print(f"      {line}", "dim")

    def stream(self, line: str) -> None:
        """A line of a tool's live output (Pulumi's progress)."""
        if line.strip():
            self._print(f"      | {line}", "dim")

    def warn(self, text: str) -> None:
        self._print(f"      warning: {text}", "yellow")

    def info(self, text: str) -> None:
        self._print(text)

    def error(self, text: str) -> None:
        self._print(text, "bold red")

    def table(self, title: str, columns: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
        table = Table(title=title, show_lines=False)
        for column in columns:
            table.add_column(column)
        for row in rows:
            clean = [self._redactor.redact(cell) for cell in row]
            table.add_row(*(Text(cell) for cell in clean))
            log.info(" | ".join(clean))
        self.console.print(table)


def configure_log_file(path: Path, redactor: Redactor) -> logging.Handler:
    """Append every reported line (redacted) to the run's log file, mode 0600."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(RedactingFormatter(redactor))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    return handler
