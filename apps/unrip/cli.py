"""The image's one entry point: ``unrip <service>`` runs one service in this process.

Also ``unrip topics`` (create/grow the catalogue's topics) for operators and local runs.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
from collections.abc import Callable, Sequence

from pydantic import ValidationError
from pydantic_settings import BaseSettings

from unrip.runtime.service import Service, run_service

SERVICES = ("ingest", "reactor", "executor", "monitor", "paper-venue", "archiver")


def _build(name: str) -> Service:
    # Imported lazily: a service's process loads only its own code.
    if name == "ingest":
        from unrip.ingest.service import IngestService
        from unrip.ingest.settings import IngestSettings

        return IngestService(IngestSettings())
    if name == "reactor":
        from unrip.reactor.service import ReactorService, ReactorSettings

        return ReactorService(ReactorSettings())
    if name == "executor":
        from unrip.executor.service import ExecutorService
        from unrip.executor.settings import ExecutorSettings

        return ExecutorService(ExecutorSettings())
    if name == "monitor":
        from unrip.monitor.service import MonitorService, MonitorSettings

        return MonitorService(MonitorSettings())
    if name == "paper-venue":
        from unrip.venues.paper.server import PaperVenueService, PaperVenueSettings

        return PaperVenueService(PaperVenueSettings())
    if name == "archiver":
        from unrip.archiver.service import ArchiverService
        from unrip.archiver.settings import ArchiverSettings

        return ArchiverService(ArchiverSettings())
    raise AssertionError(name)


def _env_prefix(model_name: str) -> str:
    """The environment prefix of the settings class called ``model_name`` (the failing one).

    A service's settings and a venue's (``UNRIP_NEAR_INTENTS_*``) have different prefixes; the
    error must name the variable the operator actually sets.
    """
    pending: list[type[BaseSettings]] = [BaseSettings]
    while pending:
        cls = pending.pop()
        if cls.__name__ == model_name and cls is not BaseSettings:
            return str(cls.model_config.get("env_prefix") or "")
        pending.extend(cls.__subclasses__())
    return "UNRIP_"


def _topics(args: argparse.Namespace) -> int:
    from unrip.runtime.kafka import ensure_topics
    from unrip.runtime.settings import ServiceSettings
    from unrip.topics import CATALOGUE

    # The brokers' address from the flag; authentication from UNRIP_KAFKA_SECURITY_* / SASL_*.
    settings = ServiceSettings()
    report = asyncio.run(
        ensure_topics(args.bootstrap_servers, CATALOGUE, args.replication_factor, settings=settings)
    )
    print(json.dumps(dataclasses.asdict(report)))
    return 1 if report.mismatched else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="unrip", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name in SERVICES:
        sub.add_parser(name, help=f"run the {name} service (configured by UNRIP_* variables)")
    topics = sub.add_parser("topics", help="create missing catalogue topics, grow partitions")
    topics.add_argument("--bootstrap-servers", required=True)
    topics.add_argument("--replication-factor", type=int, default=1)
    args = parser.parse_args(argv)
    handlers: dict[str, Callable[[argparse.Namespace], int]] = {"topics": _topics}
    if args.command in handlers:
        return handlers[args.command](args)
    try:
        service = _build(args.command)
    except ValidationError as exc:
        # Name the variable and the problem, never the value (it may be a secret).
        prefix = _env_prefix(exc.title)
        for error in exc.errors():
            field = ".".join(str(p) for p in error["loc"])
            # A check across fields (no location) names its variables in its own message.
            where = f"{prefix}{field.upper()}: " if field else ""
            print(f"unrip {args.command}: {where}{error['msg']}", file=sys.stderr)
        return 2
    except (ValueError, OSError) as exc:
        print(f"unrip {args.command}: {exc}", file=sys.stderr)
        return 2
    return run_service(service)


if __name__ == "__main__":
    sys.exit(main())
