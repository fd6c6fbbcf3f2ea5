"""unrip: the trading workloads (venue ingest, reactor, executor, monitor) and their contracts."""

__version__ = "0.1.0"
