"""Runs the steps: check, skip what has converged, apply the rest, time and checkpoint each.

A failure stops the run with the step, the reason and how to resume. Three modes share the
steps: `run` (converge), `plan` (checks with a Pulumi preview, changes nothing) and `status`
(quick live checks of every layer).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from pulumi.automation.errors import CommandError

from unrip_bootstrap.context import NO_SECRETS, StepContext
from unrip_bootstrap.progress import log
from unrip_bootstrap.steps.base import BlockedError, Check, Status, Step
from unrip_bootstrap.trading import trading_rows

PREFLIGHT: Final = "preflight"
EXIT_OK, EXIT_FAILED, EXIT_NOT_READY = 0, 1, 2


class UnknownStepError(ValueError):
    pass


def describe_error(exc: BaseException) -> str:
    """A failure as the operator should read it: the tool's own words, without a traceback."""
    if isinstance(exc, CommandError):
        # The Pulumi CLI's output (code, stdout, stderr): the end of it says what went wrong.
        parts = re.search(r"\n stdout: (.*)\n stderr: (.*)\Z", str(exc), re.DOTALL)
        output = (parts[2].strip() or parts[1].strip()) if parts else str(exc)
        lines = [line for line in output.splitlines() if line.strip()]
        return "pulumi failed:\n" + "\n".join(lines[-25:])
    if isinstance(exc, BlockedError):
        return f"an earlier step has not completed: {exc}"
    text = str(exc) or type(exc).__name__
    known = exc.__class__.__module__.startswith("unrip_bootstrap")
    return text if known else f"{type(exc).__name__}: {text}"


def resume_hint(step: str) -> str:
    return (
        "Fix the cause, then rerun `invoke bootstrap` (converged steps are skipped), or resume "
        f"at this step with `invoke bootstrap --from {step}`."
    )


class Engine:
    def __init__(self, ctx: StepContext, steps: Sequence[Step]) -> None:
        self.ctx = ctx
        self.steps = list(steps)
        self.reporter = ctx.reporter
        self.clock = ctx.clock

    def _start_index(self, from_step: str | None) -> int:
        names = [step.name for step in self.steps]
        if from_step is None:
            return 0
        if from_step not in names:
            raise UnknownStepError(f"unknown step {from_step!r}; steps: {', '.join(names)}")
        return names.index(from_step)

    def _preflight(self, mode: str) -> bool:
        step = self.steps[0]
        assert step.name == PREFLIGHT
        started = self.clock.monotonic()
        self.reporter.step_started(1, len(self.steps), step.name, step.title)
        check = step.check(self.ctx, deep=False)
        elapsed = self.clock.monotonic() - started
        if check.status == Status.CONVERGED:
            self.reporter.step_finished("ok", check.detail, elapsed)
            return True
        self.reporter.step_failed(
            step.name,
            "nothing was changed; fix these first:\n" + check.detail,
            elapsed,
            f"Then rerun `invoke {mode}`.",
        )
        return False

    # --- converge -------------------------------------------------------------------------------

    def run(self, *, from_step: str | None = None) -> int:
        start = self._start_index(from_step)
        run_started, started_at = self.clock.monotonic(), self.clock.now()
        if not self._preflight("bootstrap"):
            self._record_run(started_at, run_started, "preflight failed", PREFLIGHT)
            return EXIT_NOT_READY
        for index, step in enumerate(self.steps[1:], start=2):
            if index - 1 < start:
                self.reporter.step_started(index, len(self.steps), step.name, step.title)
                self.reporter.step_finished("skipped", f"--from {from_step}", 0.0)
                continue
            if not self._run_step(index, step):
                self._record_run(started_at, run_started, "failed", step.name)
                return EXIT_FAILED
        total = self.clock.monotonic() - run_started
        self.reporter.heading(f"bootstrap converged in {total:.0f} s")
        self._record_run(started_at, run_started, "converged", None)
        return EXIT_OK

    def _run_step(self, index: int, step: Step) -> bool:
        self.reporter.step_started(index, len(self.steps), step.name, step.title)
        started = self.clock.monotonic()
        try:
            check = step.check(self.ctx, deep=True)
            if check.status == Status.CONVERGED:
                self._finish(step, "skipped", f"converged: {check.detail}", started)
                return True
            if check.status == Status.BLOCKED:
                raise BlockedError(check.detail)
            self.reporter.detail(_changes_text(check))
            summary = step.apply(self.ctx)
        except Exception as exc:
            elapsed = self.clock.monotonic() - started
            reason = self.ctx.redactor.redact(describe_error(exc))
            log.info("step %s failed; traceback for the record:", step.name, exc_info=True)
            self.reporter.step_failed(step.name, reason, elapsed, resume_hint(step.name))
            self.ctx.state.record_step(step.name, "failed", reason, elapsed, self.clock.now())
            return False
        self._finish(step, "done", summary, started)
        return True

    def _finish(self, step: Step, outcome: str, detail: str, started: float) -> None:
        elapsed = self.clock.monotonic() - started
        self.reporter.step_finished(outcome, detail, elapsed)
        self.ctx.state.record_step(step.name, outcome, detail, elapsed, self.clock.now())

    def _record_run(
        self, started_at: object, run_started: float, result: str, failed: str | None
    ) -> None:
        self.ctx.state.record_run(
            {
                "started_at": str(started_at),
                "duration_s": round(self.clock.monotonic() - run_started, 1),
                "result": result,
                "failed_step": failed,
            }
        )

    # --- look only ------------------------------------------------------------------------------

    def plan(self, *, from_step: str | None = None) -> int:
        """What a run would change, without changing anything (Pulumi previews included)."""
        start = self._start_index(from_step)
        if not self._preflight("bootstrap --plan"):
            return EXIT_NOT_READY
        pending = 0
        for index, step in enumerate(self.steps[1:], start=2):
            if index - 1 < start:
                continue
            self.reporter.step_started(index, len(self.steps), step.name, step.title)
            started = self.clock.monotonic()
            check = self._safe_check(step, deep=True)
            elapsed = self.clock.monotonic() - started
            if check.status == Status.CONVERGED:
                self.reporter.step_finished("converged", check.detail, elapsed)
            elif check.status == Status.BLOCKED:
                pending += 1
                self.reporter.step_finished(
                    "would run", f"after earlier steps ({check.detail})", elapsed
                )
            else:
                pending += 1
                self.reporter.step_finished("would change", check.detail, elapsed)
                self.reporter.detail(_changes_text(check))
        self.reporter.heading(
            f"plan: {pending} step(s) would run; nothing was changed"
            if pending
            else "plan: everything has converged; nothing would change"
        )
        return EXIT_OK

    def status(self) -> int:
        """The live state of every layer, quickly (no previews)."""
        rows: list[list[str]] = []
        preflight = self._safe_check(self.steps[0], deep=False)
        rows.append([self.steps[0].name, str(preflight.status), preflight.detail])
        # Every layer is asked even when preflight fails: most can be read without .secrets/
        # (state files, stack outputs, the node); those that cannot say so instead of hiding.
        secrets_ready = preflight.status == Status.CONVERGED
        for step in self.steps[1:]:
            check = self._safe_check(step, deep=False)
            if not secrets_ready and NO_SECRETS in check.detail:
                check = Check.blocked(
                    f"needs {self.ctx.options.secrets_dir}/ filled in and valid (see preflight)"
                )
            detail = "; ".join([check.detail, *check.changes])
            rows.append([step.name, str(check.status), detail])
        converged = all(row[1] == Status.CONVERGED for row in rows)
        exit_code = EXIT_OK if converged else EXIT_FAILED
        # -- the trading layer (issue 17), informational: unrip_bootstrap.trading --
        if converged:
            rows.extend(self.trading_rows())
        # -- end of the trading layer --
        last = self.ctx.state.last_run()
        title = "unrip: live state"
        if last:
            title += f" (last run {last.get('started_at')}: {last.get('result')})"
        self.reporter.table(title, ["layer", "state", "detail"], rows)
        return exit_code

    def trading_rows(self) -> list[list[str]]:
        """Rows of the trading layer, from the services' /status (never fails the table)."""
        try:
            return trading_rows(self.ctx.kube())
        except Exception as exc:
            reason = self.ctx.redactor.redact(describe_error(exc))
            return [["trading", "unknown", f"cannot tell: {reason}"]]

    def _safe_check(self, step: Step, *, deep: bool) -> Check:
        try:
            return step.check(self.ctx, deep=deep)
        except BlockedError as exc:
            return Check.blocked(str(exc))
        except Exception as exc:
            return Check.blocked("cannot tell: " + self.ctx.redactor.redact(describe_error(exc)))


def _changes_text(check: Check) -> str:
    if not check.changes:
        return check.detail
    return "\n".join(["to do:", *(f"  - {change}" for change in check.changes)])
