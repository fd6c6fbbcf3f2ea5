"""`invoke backtest`: archive in, HTML report and JSON summary out (last line with ``--json``)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from unrip.reactor.strategy import DEFAULT_STRATEGY_PATH, Strategy, load_strategy
from unrip.topics import NORM_SWAP_DEMAND

from unrip_dev.archive import read_window
from unrip_dev.backtest.engine import BacktestRun, run_backtest
from unrip_dev.backtest.report import render_html


def parse_time(text: str | None, flag: str) -> datetime | None:
    """ISO 8601; a time without a zone is UTC."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{flag}: not an ISO 8601 time: {text!r}") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def backtest(
    archive: Path,
    start: datetime | None,
    end: datetime | None,
    strategies: Sequence[Strategy],
    *,
    fill_probability: float = 0.85,
) -> tuple[list[BacktestRun], dict[str, Any]]:
    """Run each strategy twice over the same recording; the summary of all of them."""
    records = read_window(archive, [NORM_SWAP_DEMAND], start, end)
    runs = []
    deterministic = True
    for strategy in strategies:
        first = run_backtest(records, strategy, fill_probability=fill_probability)
        again = run_backtest(records, strategy, fill_probability=fill_probability)
        deterministic &= first.command_ids == again.command_ids
        runs.append(first)
    primary = runs[0].summary()
    summary = {
        **primary,
        "deterministic": deterministic,
        "window": {"from": start and start.isoformat(), "to": end and end.isoformat()},
        "archive": str(archive),
        "strategies": [run.summary() for run in runs],
    }
    return runs, summary


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="invoke backtest", description=__doc__)
    parser.add_argument("--archive", type=Path, required=True)
    parser.add_argument("--from", dest="start", default=None)
    parser.add_argument("--to", dest="end", default=None)
    parser.add_argument("--strategy", type=Path, action="append", default=[])
    parser.add_argument("--fill-probability", type=float, default=0.85)
    parser.add_argument("--out", type=Path, default=Path(".runs/backtest"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    try:
        start, end = parse_time(args.start, "--from"), parse_time(args.end, "--to")
        if not args.archive.is_dir():
            raise ValueError(f"--archive: no such directory: {args.archive}")
        paths = args.strategy or [DEFAULT_STRATEGY_PATH]
        strategies = [load_strategy(path) for path in paths]
    except (ValueError, OSError) as exc:
        print(f"backtest: {exc}", file=sys.stderr)
        return 2
    runs, summary = backtest(
        args.archive, start, end, strategies, fill_probability=args.fill_probability
    )
    window = f"{args.start or 'start of archive'} → {args.end or 'end of archive'}"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.html").write_text(render_html(runs, window, summary["deterministic"]))
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    print(f"backtest: report in {args.out / 'report.html'}", file=sys.stderr)
    for run in runs:
        s = run.summary()
        print(
            f"  {s['strategy_id']}: {s['demands']} demands, {s['commands']} commands, "
            f"{s['skips']} skips, fill rate {s['fill_rate']}, PnL {s['pnl_usd']} USD",
            file=sys.stderr,
        )
    if args.json:
        print(json.dumps(summary, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
