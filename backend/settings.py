"""Every environment variable the service reads, typed, defaulted and checked at start."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from limits import parse_many
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from backend.errors import ConfigError
from backend.origins import origin_of, parse_origins

# kombu warns "No hostname was supplied" for a bare filesystem:// (the transport ignores the host).
FILESYSTEM_BROKER_URL = "filesystem://localhost/"
FILES_PATH = "/files"  # where the API serves local storage (backend/api/files.py)
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}  # noqa: S104 - a name to refuse, not a bind
# A preview's answer travels worker -> Redis (or a file) -> API; this covers that beyond ANALYZE_TIMEOUT.
ANALYZE_REPLY_GRACE_SECONDS = 3.0


class Settings(BaseSettings):
    """The service's configuration; one instance per process (see `get_settings`)."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", frozen=True)

    app_env: Literal["development", "test", "production"] = "development"
    log_format: Literal["json", "text"] | None = None  # None: json in production, text elsewhere
    port: int = Field(default=5000, ge=1, le=65535)
    var_dir: Path = Path("var")

    database_url: str | None = None
    # Migrations and verify_migrations use this when set: the database's direct address
    # when DATABASE_URL points at a transaction pooler (Railway's PgBouncer, Supabase :6543).
    database_direct_url: str | None = None
    db_pool_size: int = Field(default=5, ge=1, le=100)
    db_max_overflow: int = Field(default=5, ge=0, le=100)
    db_pool_recycle: int = Field(default=300, ge=-1)
    db_idle_timeout: int = Field(default=60, ge=0)
    db_pool_timeout: float = Field(default=10.0, gt=0)
    db_connect_timeout: int = Field(default=5, ge=1, le=120)
    db_nullpool: bool = False
    api_statement_timeout: float = Field(default=5.0, gt=0, le=300)

    redis_url: str | None = None
    redis_tls: bool = False
    celery_broker_url: str | None = None
    celery_concurrency: int = Field(default=2, ge=1, le=64)
    celery_queue: str = Field(default="scrape", pattern=r"^[A-Za-z0-9_.-]{1,64}$")

    storage_backend: Literal["local", "s3"] = "local"
    local_storage_dir: Path | None = None
    local_storage_public_url: str | None = None
    r2_endpoint_url: str | None = None
    r2_account_id: str | None = None
    r2_access_key_id: SecretStr | None = None
    r2_secret_access_key: SecretStr | None = None
    r2_bucket: str | None = None
    r2_public_base_url: str | None = None
    storage_connect_timeout: float = Field(default=3.0, gt=0, le=60)
    storage_read_timeout: float = Field(default=10.0, gt=0, le=300)
    storage_max_attempts: int = Field(default=2, ge=1, le=10)

    scraper_user_agent: str = (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/131.0 Safari/537.36 ProductImageScraper/1.0"
    )
    scraper_timeout: float = Field(default=15.0, gt=0, le=300)
    scraper_max_redirects: int = Field(default=5, ge=0, le=20)
    scraper_max_candidates: int = Field(default=300, ge=1, le=5000)
    scraper_download_workers: int = Field(default=8, ge=1, le=64)
    max_page_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    max_image_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    max_image_pixels: int = Field(default=60_000_000, ge=1)
    max_decode_bytes: int = Field(default=512 * 1024 * 1024, ge=16 * 1024 * 1024)
    scraper_allow_private: bool = False
    # Origins (scheme://host:port, comma- or space-separated) the guard lets through even on a
    # loopback/private address; kept normalized, space-separated (see `allowed_origins`).
    scraper_allowed_origins: str = ""
    analyze_timeout: float = Field(default=20.0, gt=0, le=120)
    analyze_max_waiting: int = Field(default=2, ge=1, le=64)

    job_max_attempts: int = Field(default=3, ge=1, le=20)
    max_outstanding_jobs: int = Field(default=100, ge=1, le=100_000)
    job_stale_seconds: int = Field(default=120, ge=5)
    job_queued_grace_seconds: int = Field(default=120, ge=5)
    job_soft_time_limit: int = Field(default=600, ge=10)
    job_time_limit_grace_seconds: int = Field(default=60, ge=1, le=3600)
    job_retry_backoff_seconds: float = Field(default=10.0, gt=0, le=300)
    sweep_interval_seconds: float = Field(default=30.0, gt=0, le=3600)
    schema_wait_seconds: float = Field(default=300.0, ge=0, le=3600)

    worker_heartbeat_file: Path | None = None
    worker_heartbeat_interval: float = Field(default=10.0, gt=0, le=300)
    worker_heartbeat_max_age: float = Field(default=60.0, gt=0, le=3600)

    callback_timeout: float = Field(default=10.0, gt=0, le=60)
    callback_max_attempts: int = Field(default=8, ge=1, le=20)
    callback_backoff_base: float = Field(default=5.0, gt=0, le=600)
    callback_backoff_max: float = Field(default=600.0, gt=0, le=3600)

    metrics_token: SecretStr | None = None
    metrics_cache_seconds: float = Field(default=30.0, ge=0, le=3600)

    rate_limit_enabled: bool = True
    rate_limit: str = "600 per minute"
    rate_limit_analyze: str = "30 per minute"
    rate_limit_unauthenticated: str = "30 per minute"
    rate_limit_storage_url: str | None = None
    trusted_proxy_hops: int = Field(default=0, ge=0, le=10)

    sentry_dsn: SecretStr | None = None  # errors go to Sentry when set (backend/error_reporting.py)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        # URLs stay readable in logs and tracebacks, but never with their password.
        for name, value in super().__repr_args__():
            if name is not None and name.endswith("_url") and isinstance(value, str):
                yield name, without_password(value)
            else:
                yield name, value

    @field_validator("database_url", "database_direct_url")
    @classmethod
    def _parse_database_url(cls, value: str | None) -> str | None:
        if value:
            try:
                backend = make_url(_normalise_postgres_scheme(value)).get_backend_name()
            except ArgumentError:
                backend = None
            if backend not in ("postgresql", "sqlite"):
                raise ValueError("is not a database URL such as postgresql://user:password@host:5432/name")
        return value

    @field_validator("rate_limit", "rate_limit_analyze", "rate_limit_unauthenticated")
    @classmethod
    def _parse_rate_limit(cls, value: str) -> str:
        try:
            parse_many(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a rate limit such as '600 per minute'") from None
        return value

    @field_validator("scraper_allowed_origins")
    @classmethod
    def _parse_origins(cls, value: str) -> str:
        return " ".join(parse_origins(value))

    @model_validator(mode="after")
    def _check_production(self) -> Settings:
        if self.app_env == "production":
            _require_production_database(self.database_url)
            if not (self.redis_url or self.celery_broker_url):
                raise ValueError("REDIS_URL is required in production")
            if self.storage_backend != "s3":
                raise ValueError("STORAGE_BACKEND must be 's3' in production")
            if self.scraper_allow_private:
                raise ValueError(
                    "SCRAPER_ALLOW_PRIVATE must be false in production (it disables the SSRF guard)"
                )
        if self.storage_backend == "s3":
            self._check_s3()
        return self

    def _check_s3(self) -> None:
        for name in ("r2_access_key_id", "r2_secret_access_key", "r2_bucket"):
            if not getattr(self, name):
                raise ValueError(f"{name.upper()} is required when STORAGE_BACKEND=s3")
        if not (self.r2_endpoint_url or self.r2_account_id):
            raise ValueError("R2_ENDPOINT_URL or R2_ACCOUNT_ID is required when STORAGE_BACKEND=s3")

    def allows_private(self, url: str) -> bool:
        """Whether the SSRF guard lets `url` reach a loopback or private address: everything
        with SCRAPER_ALLOW_PRIVATE, else only the origins SCRAPER_ALLOWED_ORIGINS names."""
        return self.scraper_allow_private or origin_of(url) in self.allowed_origins

    @property
    def allowed_origins(self) -> tuple[str, ...]:
        """SCRAPER_ALLOWED_ORIGINS as a tuple of normalized origins."""
        return tuple(self.scraper_allowed_origins.split())

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return _normalise_postgres_scheme(self.database_url)
        return f"sqlite:///{(self.var_dir / 'scraper.db').resolve()}"

    @property
    def migration_database_url(self) -> str:
        """Where migrate and verify_migrations connect: DATABASE_DIRECT_URL if set, else the database URL."""
        if self.database_direct_url:
            return _normalise_postgres_scheme(self.database_direct_url)
        return self.effective_database_url

    @property
    def broker_url(self) -> str:
        """Where Celery sends tasks: explicit broker, else Redis, else the filesystem."""
        url = self.celery_broker_url or self.redis_url
        if url is None:
            return FILESYSTEM_BROKER_URL
        return self._with_tls(url)

    def _with_tls(self, url: str) -> str:
        """REDIS_TLS=true turns a redis:// URL into rediss://, for every Redis client alike."""
        if self.redis_tls and url.startswith("redis://"):
            return "rediss://" + url.removeprefix("redis://")
        return url

    @property
    def job_hard_time_limit(self) -> int:
        """Seconds after which Celery kills a pool process still running a job (the soft limit plus its grace)."""
        return self.job_soft_time_limit + self.job_time_limit_grace_seconds

    @property
    def rate_limit_storage(self) -> str:
        """Where the API's rate-limit counters live: the explicit URL, else Redis, else process memory."""
        url = self.rate_limit_storage_url or self.redis_url
        return self._with_tls(url) if url else "memory://"

    @property
    def analyze_queue(self) -> str:
        """The queue /analyze previews go to; workers consume it ahead of CELERY_QUEUE."""
        return f"{self.celery_queue}.analyze"

    @property
    def analyze_wait_seconds(self) -> float:
        """How long the API waits for a preview's answer: ANALYZE_TIMEOUT plus a little for the round trip."""
        return self.analyze_timeout + ANALYZE_REPLY_GRACE_SECONDS

    @property
    def broker_folder(self) -> Path:
        return (self.var_dir / "broker").resolve()

    @property
    def heartbeat_path(self) -> Path:
        """The file the worker's consumer loop touches and `python -m worker.liveness` checks."""
        return (self.worker_heartbeat_file or self.var_dir / "worker-heartbeat").resolve()

    @property
    def storage_dir(self) -> Path:
        return (self.local_storage_dir or self.var_dir / "storage").resolve()

    @property
    def s3_endpoint(self) -> str | None:
        if self.r2_endpoint_url:
            return self.r2_endpoint_url
        if self.r2_account_id:
            return f"https://{self.r2_account_id}.r2.cloudflarestorage.com"
        return None

    @property
    def local_public_url(self) -> str:
        """Where local images are published: LOCAL_STORAGE_PUBLIC_URL, else the API's own /files path.

        The path is stored as it is and made absolute when answering (with the request's
        address, or the CLI's PORT), so a stored image survives a change of port.
        """
        return (self.local_storage_public_url or FILES_PATH).rstrip("/")


def without_password(url: str) -> str:
    """`url` with its password, if it has one, replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    return urlunsplit(parts._replace(netloc=f"{userinfo.partition(':')[0]}:***@{hostport}"))


def _normalise_postgres_scheme(url: str) -> str:
    # Railway and Heroku hand out postgres://, which SQLAlchemy 2 no longer accepts,
    # and SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3; we ship psycopg2.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url.removeprefix(prefix)
    return url


def _require_production_database(url: str | None) -> None:
    if not url:
        raise ValueError("DATABASE_URL is required in production")
    if url.startswith("sqlite"):
        raise ValueError("DATABASE_URL must not be SQLite in production")
    host = urlsplit(_normalise_postgres_scheme(url)).hostname or ""
    if host in LOCAL_HOSTS:
        raise ValueError(f"DATABASE_URL must not point at {host} in production")


def load_settings(**overrides: object) -> Settings:
    """Build settings from the environment (plus overrides); one clear line on error."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]  # pydantic validates the overrides at run time
    except ValidationError as exc:
        raise ConfigError(_one_line(exc)) from None


def _one_line(exc: ValidationError) -> str:
    first = exc.errors()[0]
    location = ".".join(str(part) for part in first["loc"]).upper()
    message = first["msg"].removeprefix("Value error, ")
    return f"{location}: {message}" if location else message


@functools.cache
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return load_settings()
