"""`invoke replay` / `invoke restore`: arguments in, one JSON summary out (last line)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from unrip.archiver.settings import DEFAULT_TOPICS, ArchiverSettings

from unrip_dev.backtest.main import parse_time
from unrip_dev.replay import load, publish, through_reactor


def _parser(prog: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog)
    parser.add_argument("--archive", type=Path, default=None)
    parser.add_argument("--source-bootstrap-servers", default=None)
    parser.add_argument("--from", dest="start", default=None)
    parser.add_argument("--to", dest="end", default=None)
    parser.add_argument("--topics", default=DEFAULT_TOPICS)
    parser.add_argument("--bootstrap-servers", default=None)
    parser.add_argument("--pace", choices=("recorded", "fast"), default="fast")
    parser.add_argument("--speed", type=float, default=1.0)
    return parser


def replay_main(argv: Sequence[str] | None = None) -> int:
    parser = _parser("invoke replay")
    parser.add_argument("--into", default=None, help="scratch topic prefix, e.g. replay.")
    parser.add_argument("--reactor", action="store_true")
    parser.add_argument("--strategy", type=Path, default=None)
    args = parser.parse_args(argv)
    try:
        if args.reactor == (args.into is not None):
            raise ValueError("choose one target: --into PREFIX (topics) or --reactor")
        if args.into is not None and not args.into:
            raise ValueError("--into: an empty prefix would write to the live topics (restore)")
        if args.into is not None and not args.bootstrap_servers:
            raise ValueError("--into needs --bootstrap-servers (the broker to publish to)")
        topics = ArchiverSettings(archiver_topics=args.topics).topics()
        records = load(
            args.archive,
            args.source_bootstrap_servers,
            topics,
            parse_time(args.start, "--from"),
            parse_time(args.end, "--to"),
        )
        if args.reactor:
            summary = asyncio.run(
                through_reactor(records, args.strategy, pace=args.pace, speed=args.speed)
            )
        else:
            summary = asyncio.run(
                publish(
                    records,
                    args.bootstrap_servers,
                    prefix=str(args.into),
                    pace=args.pace,
                    speed=args.speed,
                    allow_non_empty=True,
                )
            )
    except (ValueError, OSError) as exc:
        print(f"replay: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary, sort_keys=True))
    return 0


def restore_main(argv: Sequence[str] | None = None) -> int:
    parser = _parser("invoke restore")
    parser.add_argument("--append", action="store_true")
    args = parser.parse_args(argv)
    try:
        if args.archive is None or not args.bootstrap_servers:
            raise ValueError("restore needs --archive DIR and --bootstrap-servers")
        topics = ArchiverSettings(archiver_topics=args.topics).topics()
        records = load(
            args.archive,
            None,
            topics,
            parse_time(args.start, "--from"),
            parse_time(args.end, "--to"),
        )
        summary = asyncio.run(
            publish(records, args.bootstrap_servers, prefix="", allow_non_empty=args.append)
        )
    except (ValueError, OSError) as exc:
        print(f"restore: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(summary, sort_keys=True))
    return 0
