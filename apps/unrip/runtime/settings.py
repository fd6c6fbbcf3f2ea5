"""Service configuration from the environment (``UNRIP_*``), validated at start-up.

Flat names (``UNRIP_KAFKA_BOOTSTRAP_SERVERS``) because operators type them into ConfigMaps and
shells; a bad value stops the service before it touches the bus, with the variable named.
"""

from __future__ import annotations

import os
import socket
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from unrip.runtime.signing import MIN_KEY_BYTES, CommandSigner


def _default_instance_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class ServiceSettings(BaseSettings):
    """Settings every service has. Services subclass it for their own."""

    model_config = SettingsConfigDict(env_prefix="UNRIP_", extra="ignore", frozen=True)

    instance_id: str = Field(default_factory=_default_instance_id)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    http_host: str = "0.0.0.0"  # noqa: S104  (pods serve probes and metrics on all interfaces)
    http_port: int = Field(default=8080, ge=0, le=65535)
    # How long SIGTERM may take: stop fetching, finish in flight, commit, leave. The manifests'
    # terminationGracePeriodSeconds must exceed it (checked by the manifest tests).
    shutdown_grace_s: float = Field(default=20.0, gt=0)

    # uvloop: libuv's event loop, cheaper per wake-up and per socket read than asyncio's own
    # (docs/benchmarks.md); "asyncio" keeps the standard one, for comparison or debugging.
    event_loop: Literal["uvloop", "asyncio"] = "uvloop"

    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_client_id_prefix: str = "unrip"
    # Producer idempotence needs InitProducerId (Redpanda/Kafka have it; Tansu does not).
    # Correctness never depends on it: it only removes broker-side retry duplicates.
    kafka_enable_idempotence: bool = False
    # 0: an awaited send (a ledger write, a batch's outputs) goes out at once. aiokafka keeps
    # one produce request in flight per broker and batches whatever arrives meanwhile, so
    # lingering only adds delay: 1 ms cost ~1.4 ms per awaited send (docs/benchmarks.md).
    kafka_linger_ms: int = Field(default=0, ge=0)
    # Bytes per partition in one produce batch. aiokafka's 16 KiB default holds ~5 ledger
    # entries (a command and its stored result are ~3 KiB), so 500 ledger writes sent
    # together went out as ~75 produce requests, each costing the broker about the same
    # (docs/benchmarks.md). Half a MiB keeps a batch under every broker's default 1 MiB
    # message limit; with linger 0 a larger limit never delays a send, it only lets what is
    # already queued travel in one request.
    kafka_max_batch_bytes: int = Field(default=524_288, ge=1024, le=1_048_576)
    kafka_fetch_max_wait_ms: int = Field(default=10, ge=0)
    kafka_max_poll_records: int = Field(default=500, ge=1)
    # Consumers commit the offsets of handled batches at most this often (0: after every
    # batch), and always before giving a partition up or stopping (runtime/consumer.py).
    kafka_commit_interval_ms: int = Field(default=200, ge=0)
    kafka_session_timeout_ms: int = Field(default=10_000, ge=1000)
    kafka_heartbeat_interval_ms: int = Field(default=1_000, ge=100)
    kafka_request_timeout_ms: int = Field(default=30_000, ge=1000)
    # Authentication to the brokers (docs/security.md). PLAINTEXT (no auth) is the local
    # default: the embedded Tansu broker has none. In the cluster each service has its own
    # SCRAM user whose ACLs allow exactly its topics (unrip_platform.cluster.bus_acls).
    kafka_security_protocol: Literal["PLAINTEXT", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    kafka_sasl_mechanism: Literal["SCRAM-SHA-256", "SCRAM-SHA-512"] = "SCRAM-SHA-256"
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None

    @model_validator(mode="after")
    def _sasl_has_credentials(self) -> ServiceSettings:
        if self.kafka_security_protocol.startswith("SASL_") and not (
            self.kafka_sasl_username
            and self.kafka_sasl_password
            and self.kafka_sasl_password.get_secret_value()
        ):
            raise ValueError(
                f"UNRIP_KAFKA_SECURITY_PROTOCOL={self.kafka_security_protocol} needs "
                "UNRIP_KAFKA_SASL_USERNAME and UNRIP_KAFKA_SASL_PASSWORD"
            )
        return self


class CommandSigningSettings(ServiceSettings):
    """The reactor's and the executor's shared command key (``unrip.runtime.signing``).

    Fail closed: without ``UNRIP_COMMAND_SIGNING_KEY`` the service does not start, unless
    ``UNRIP_COMMAND_SIGNING_DISABLED=true`` turns signing and checking off on purpose.
    """

    command_signing_key: SecretStr | None = None
    command_signing_disabled: bool = False

    @model_validator(mode="after")
    def _key_or_disabled(self) -> CommandSigningSettings:
        key = self.command_signing_key.get_secret_value() if self.command_signing_key else ""
        if self.command_signing_disabled:
            return self
        if not key:
            raise ValueError(
                "UNRIP_COMMAND_SIGNING_KEY is not set (the reactor signs commands with it and "
                "the executor refuses unsigned ones; UNRIP_COMMAND_SIGNING_DISABLED=true runs "
                "without, for tests only)"
            )
        if len(key.encode()) < MIN_KEY_BYTES:
            raise ValueError(f"UNRIP_COMMAND_SIGNING_KEY must have at least {MIN_KEY_BYTES} bytes")
        return self

    def command_signer(self) -> CommandSigner:
        if self.command_signing_disabled or self.command_signing_key is None:
            return CommandSigner(None)
        return CommandSigner(self.command_signing_key.get_secret_value().encode())
