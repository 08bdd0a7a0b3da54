"""Object storage behind one small interface: S3/R2 (boto3) or a local directory."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from backend.errors import StorageError
from backend.settings import Settings

MISSING_CODES = {"NoSuchKey", "404", "NotFound"}


@dataclass(frozen=True)
class StoredObject:
    """One object as a listing shows it."""

    key: str
    size: int
    last_modified: datetime  # aware, UTC


class ImageStore(Protocol):
    """Where image bytes live. Keys are content-addressed, so writes are idempotent."""

    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def get(self, key: str) -> bytes:
        """The object's bytes; FileNotFoundError if there is none."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object; deleting a missing key is not an error."""
        ...

    def exists(self, key: str) -> bool: ...

    def list_objects(self, prefix: str) -> Iterator[StoredObject]:
        """Every object whose key starts with `prefix`, in key order; StorageError if the listing fails."""
        ...

    def public_url(self, key: str) -> str: ...

    def ping(self) -> None:
        """Raise StorageError unless the store is reachable and usable."""
        ...


def storage_config(settings: Settings) -> Config:
    """boto3's client config: every call bounded (connect, each read, a few attempts), so a hung R2 cannot hang us.

    A call waits at most about STORAGE_MAX_ATTEMPTS × (STORAGE_CONNECT_TIMEOUT +
    STORAGE_READ_TIMEOUT) plus botocore's short backoff between attempts.
    """
    return Config(
        signature_version="s3v4",
        connect_timeout=settings.storage_connect_timeout,
        read_timeout=settings.storage_read_timeout,
        retries={"total_max_attempts": settings.storage_max_attempts, "mode": "standard"},
        max_pool_connections=32,
    )


class S3Store:
    """Cloudflare R2 or any S3-protocol server, through one boto3 client per process."""

    def __init__(self, settings: Settings) -> None:
        assert settings.r2_access_key_id and settings.r2_secret_access_key and settings.r2_bucket
        self.bucket = settings.r2_bucket
        endpoint = settings.s3_endpoint
        self.public_base = (settings.r2_public_base_url or f"{endpoint}/{self.bucket}").rstrip("/")
        self.client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id=settings.r2_access_key_id.get_secret_value(),
            aws_secret_access_key=settings.r2_secret_access_key.get_secret_value(),
            region_name="auto",
            config=storage_config(settings),
        )

    def put(self, key: str, data: bytes, content_type: str) -> None:
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=data,
                ContentType=content_type,
                CacheControl="public, max-age=31536000, immutable",
            )
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"put {key} failed: {exc}") from exc

    def get(self, key: str) -> bytes:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
            return bytes(response["Body"].read())
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in MISSING_CODES:
                raise FileNotFoundError(key) from exc
            raise StorageError(f"get {key} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"get {key} failed: {exc}") from exc

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=key)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"delete {key} failed: {exc}") from exc

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in MISSING_CODES:
                return False
            raise StorageError(f"head {key} failed: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"head {key} failed: {exc}") from exc
        return True

    def list_objects(self, prefix: str) -> Iterator[StoredObject]:
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            ):
                for item in page.get("Contents", []):
                    yield StoredObject(item["Key"], int(item["Size"]), item["LastModified"].astimezone(UTC))
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"list {prefix} failed: {exc}") from exc

    def public_url(self, key: str) -> str:
        return f"{self.public_base}/{key}"

    def ping(self) -> None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"bucket {self.bucket} unreachable: {exc}") from exc


class LocalStore:
    """A directory on disk; the API serves it under /files/ in the embedded mode."""

    def __init__(self, root: Path, public_base: str) -> None:
        self.root = root.resolve()
        self.public_base = public_base.rstrip("/")

    def path_for(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root):
            raise FileNotFoundError(key)
        return path

    def put(self, key: str, data: bytes, content_type: str) -> None:  # noqa: ARG002 - the file name carries the type
        path = self.path_for(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Write then rename, so a reader never sees half a file.
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            Path(tmp).replace(path)
        except OSError as exc:
            raise StorageError(f"put {key} failed: {exc}") from exc

    def get(self, key: str) -> bytes:
        return self.path_for(key).read_bytes()

    def delete(self, key: str) -> None:
        try:
            self.path_for(key).unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(f"delete {key} failed: {exc}") from exc

    def exists(self, key: str) -> bool:
        return self.path_for(key).is_file()

    def list_objects(self, prefix: str) -> Iterator[StoredObject]:
        top = self.root / prefix[: prefix.rfind("/") + 1]  # the deepest folder every match is under
        try:
            keys = sorted(path.relative_to(self.root).as_posix() for path in top.rglob("*") if path.is_file())
        except OSError as exc:
            raise StorageError(f"list {prefix} failed: {exc}") from exc
        for key in keys:
            if key.startswith(prefix):
                with contextlib.suppress(FileNotFoundError):  # deleted since the walk
                    stat = (self.root / key).stat()
                    yield StoredObject(key, stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC))

    def public_url(self, key: str) -> str:
        return f"{self.public_base}/{key}"

    def ping(self) -> None:
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"{self.root} unusable: {exc}") from exc
        if not os.access(self.root, os.W_OK):
            raise StorageError(f"{self.root} is not writable")


def make_store(settings: Settings) -> ImageStore:
    """The store the settings choose."""
    if settings.storage_backend == "s3":
        return S3Store(settings)
    return LocalStore(settings.storage_dir, settings.local_public_url)
