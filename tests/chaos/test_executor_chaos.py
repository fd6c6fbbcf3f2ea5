"""Executor safety under fire (issue 3): two executor processes on the real broker, thousands
of commands with deliberate duplicates, random SIGKILLs, a rolling SIGTERM restart and a
frozen (SIGSTOPped) member whose partitions move while it sleeps. Nothing may execute twice,
nothing may be lost, and every command has exactly one result."""

from __future__ import annotations

from pathlib import Path

import pytest
from unrip_dev.chaos import ChaosOptions, run_chaos

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(600)]


def test_kills_and_rolling_restart_neither_duplicate_nor_lose_a_trade(tmp_path: Path) -> None:
    report = run_chaos(
        ChaosOptions(
            commands=2000, executors=2, kills=3, pauses=0, run_dir=tmp_path, rate_per_s=200
        )
    )
    detail = "\n".join(report.events)
    assert report.kills == 3, detail
    assert report.sigterm_restarts == report.clean_sigterm_exits == 2, detail
    assert report.lost == 0, detail
    # Every command reached the venue exactly once: the executor itself never re-submitted.
    assert report.executed == 2000 and report.duplicate_submissions == 0, detail
    assert report.duplicates == 0 and report.conflicting_results == 0, detail
    assert report.results == 2000, detail
    # Re-sent commands were answered from the ledger (stored result re-published).
    assert report.result_records >= 2000 + report.resent_duplicates, detail


def test_a_frozen_executor_cannot_execute_what_its_successor_took_over(tmp_path: Path) -> None:
    report = run_chaos(
        ChaosOptions(
            commands=1000,
            executors=2,
            kills=0,
            pauses=1,
            rolling_restart=False,
            run_dir=tmp_path,
            rate_per_s=100,
        )
    )
    detail = "\n".join(report.events)
    assert report.pauses == 1, detail
    assert report.lost == 0 and report.results == 1000, detail
    # Whatever the frozen member tried after waking was fenced: one order per command.
    assert report.executed == 1000 and report.duplicates == 0, detail
    assert report.conflicting_results == 0, detail


def test_near_executors_killed_with_quotes_outstanding_answer_each_quote_once(
    tmp_path: Path,
) -> None:
    report = run_chaos(
        ChaosOptions(
            commands=1500,
            executors=2,
            kills=3,
            pauses=0,
            run_dir=tmp_path,
            rate_per_s=200,
            venue="near_intents",
            # Long enough that no command expires while a loaded machine is slow to send it
            # or an executor is down, and that every losing quote is still open when the last
            # is sent: the peak below is then the window's, not the machine's speed.
            near_response_window_s=60.0,
            near_quote_validity_ms=30_000,
        )
    )
    detail = "\n".join(report.events)
    assert report.kills == 3, detail
    assert report.rolling_restarts == 2 and report.rolling_exit_codes == [0, 0], detail
    assert report.lost == 0 and report.results == 1500, detail  # one result per command
    assert report.duplicates == 0, detail  # no quote_response sent twice for one command
    assert report.max_outstanding >= 500, detail  # the window: quotes awaiting settlement
