"""The archiver's settings: which topics, where to, and the object-storage credentials."""

from __future__ import annotations

from fnmatch import fnmatchcase

from pydantic import Field, SecretStr

from unrip.runtime.settings import ServiceSettings
from unrip.topics import CATALOGUE

DEFAULT_TOPICS = "raw.*,norm.*,cmd.*,exec.*,audit.*"


class ArchiverSettings(ServiceSettings):
    # Comma-separated names or shell patterns over the topic catalogue (unrip.topics).
    archiver_topics: str = DEFAULT_TOPICS
    # A local directory (dev, tests) or s3://bucket/prefix (Hetzner Object Storage).
    archiver_uri: str = "/var/lib/unrip/archive"
    # S3-compatible storage: endpoint (e.g. https://fsn1.your-objectstorage.com) and region.
    archiver_s3_endpoint: str | None = None
    archiver_s3_region: str = "fsn1"
    archiver_s3_access_key: SecretStr | None = None
    archiver_s3_secret_key: SecretStr | None = None
    archiver_group_id: str = "archiver"
    # Each handled batch becomes one file per partition and hour (service.py says why), so
    # the archiver polls in large batches: the broker holds a fetch until this many bytes or
    # this long, whichever comes first.
    archiver_fetch_min_bytes: int = Field(default=1024 * 1024, ge=1)
    archiver_fetch_max_wait_ms: int = Field(default=2000, ge=0)
    archiver_max_poll_records: int = Field(default=50_000, ge=1)

    def topics(self) -> list[str]:
        """The catalogue topics the patterns select; a pattern matching none is an error."""
        patterns = [p.strip() for p in self.archiver_topics.split(",") if p.strip()]
        selected: list[str] = []
        for pattern in patterns:
            matched = [s.name for s in CATALOGUE if fnmatchcase(s.name, pattern)]
            if not matched:
                raise ValueError(
                    f"UNRIP_ARCHIVER_TOPICS: {pattern!r} matches no topic of the catalogue"
                )
            selected.extend(name for name in matched if name not in selected)
        if not selected:
            raise ValueError("UNRIP_ARCHIVER_TOPICS: no topic selected")
        return selected
