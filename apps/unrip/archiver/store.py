"""The archive's storage: a local directory or S3-compatible object storage, one interface.

Both go through ``pyarrow.fs``. A file appears whole or not at all: on S3 an object exists only
once its upload completes; locally it is written beside its final name (hidden with a leading
dot, which Parquet readers skip), fsynced and renamed, and the directory is fsynced, so a file
that is listed survives a crash of the process or the machine.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from pyarrow import fs

from unrip.archiver.layout import FileName, topic_dir
from unrip.archiver.settings import ArchiverSettings


class ArchiveStore:
    def __init__(self, filesystem: fs.FileSystem, root: str) -> None:
        self.filesystem = filesystem
        self.root = root.rstrip("/")
        self.local = isinstance(filesystem, fs.LocalFileSystem)

    @classmethod
    def from_settings(cls, settings: ArchiverSettings) -> ArchiveStore:
        uri = settings.archiver_uri
        if uri.startswith("s3://"):
            if settings.archiver_s3_access_key is None or settings.archiver_s3_secret_key is None:
                raise ValueError(
                    "UNRIP_ARCHIVER_S3_ACCESS_KEY and UNRIP_ARCHIVER_S3_SECRET_KEY are required "
                    "for an s3:// UNRIP_ARCHIVER_URI"
                )
            endpoint = settings.archiver_s3_endpoint
            filesystem = fs.S3FileSystem(
                access_key=settings.archiver_s3_access_key.get_secret_value(),
                secret_key=settings.archiver_s3_secret_key.get_secret_value(),
                region=settings.archiver_s3_region,
                endpoint_override=endpoint,
                scheme="http" if endpoint and endpoint.startswith("http://") else "https",
            )
            return cls(filesystem, uri.removeprefix("s3://"))
        if "://" in uri:
            raise ValueError(f"UNRIP_ARCHIVER_URI: unsupported scheme in {uri.split('://')[0]!r}")
        root = Path(uri).absolute()
        root.mkdir(parents=True, exist_ok=True)
        return cls(fs.LocalFileSystem(), str(root))

    def archived_up_to(self, topic: str) -> dict[int, int]:
        """Per partition, the highest offset archived (everything below it is archived too)."""
        selector = fs.FileSelector(
            topic_dir(self.root, topic), recursive=True, allow_not_found=True
        )
        highest: dict[int, int] = {}
        for info in self.filesystem.get_file_info(selector):
            name = FileName.parse(info.base_name)
            if name is not None and name.last_offset > highest.get(name.partition, -1):
                highest[name.partition] = name.last_offset
        return highest

    def put(self, directory: str, name: str, data: bytes) -> str:
        """Write ``data`` as ``directory/name`` atomically and durably; return the path."""
        path = f"{directory}/{name}"
        if not self.local:
            with self.filesystem.open_output_stream(path) as stream:
                stream.write(data)
            return path
        Path(directory).mkdir(parents=True, exist_ok=True)
        temporary = Path(directory) / f".{name}.{uuid.uuid4().hex}.tmp"
        with temporary.open("wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        temporary.replace(path)
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)
        return path
