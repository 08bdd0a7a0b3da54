"""Settings: defaults, environment parsing, production refusals, URL normalization, Redis TLS."""

from __future__ import annotations

import re
import ssl
from pathlib import Path

import pytest

from backend.errors import ConfigError
from backend.settings import Settings, load_settings
from worker.config import make_celery

PRODUCTION_OK = {
    "APP_ENV": "production",
    "DATABASE_URL": "postgresql://app:secret@db.internal:5432/app",
    "REDIS_URL": "redis://redis.internal:6379/0",
    "STORAGE_BACKEND": "s3",
    "R2_ACCOUNT_ID": "abc123",
    "R2_ACCESS_KEY_ID": "key-id",
    "R2_SECRET_ACCESS_KEY": "very-secret-value",
    "R2_BUCKET": "images",
}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    """No setting leaks in from the machine running the tests; relative paths land in tmp_path."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)
    monkeypatch.chdir(tmp_path)


def set_env(monkeypatch, values: dict[str, str]) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def refusal(monkeypatch, values: dict[str, str]) -> str:
    set_env(monkeypatch, values)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_defaults_are_the_embedded_mode(tmp_path):
    """With no environment the service runs embedded: SQLite, filesystem broker, local storage."""
    settings = load_settings()
    assert settings.app_env == "development"
    assert settings.port == 5000
    assert settings.database_url is None
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'var' / 'scraper.db'}"
    assert settings.broker_url == "filesystem://localhost/"
    assert settings.broker_folder == tmp_path / "var" / "broker"
    assert settings.storage_backend == "local"
    assert settings.storage_dir == tmp_path / "var" / "storage"
    assert settings.local_public_url == "/files"  # a path, made absolute when answering
    assert settings.scraper_allow_private is False
    assert settings.db_nullpool is False


def test_environment_variables_are_read(monkeypatch):
    """Upper-case environment variables set the matching typed fields."""
    set_env(
        monkeypatch,
        {
            "PORT": "8080",
            "DB_POOL_SIZE": "7",
            "DB_NULLPOOL": "true",
            "SCRAPER_TIMEOUT": "2.5",
            "VAR_DIR": "/srv",
        },
    )
    settings = load_settings()
    assert (settings.port, settings.db_pool_size, settings.db_nullpool) == (8080, 7, True)
    assert settings.scraper_timeout == 2.5
    assert settings.var_dir == Path("/srv")
    assert settings.local_public_url == "/files"  # no port in it: a new PORT breaks no stored link


def test_bad_value_is_one_line_naming_the_variable(monkeypatch):
    """A value of the wrong type is refused with one line that names the variable."""
    message = refusal(monkeypatch, {"DB_POOL_SIZE": "lots"})
    assert message.startswith("DB_POOL_SIZE:")


def test_production_with_everything_set_loads(monkeypatch):
    """Production settings with Postgres, Redis and R2 credentials load."""
    set_env(monkeypatch, PRODUCTION_OK)
    settings = load_settings()
    assert settings.app_env == "production"
    assert settings.s3_endpoint == "https://abc123.r2.cloudflarestorage.com"
    assert settings.broker_url == "redis://redis.internal:6379/0"


@pytest.mark.parametrize(
    ("override", "variable"),
    [
        ({"DATABASE_URL": ""}, "DATABASE_URL"),
        ({"DATABASE_URL": "sqlite:////data/app.db"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgresql://app@localhost:5432/app"}, "DATABASE_URL"),
        ({"DATABASE_URL": "postgres://app@127.0.0.1/app"}, "DATABASE_URL"),
        ({"REDIS_URL": ""}, "REDIS_URL"),
        ({"STORAGE_BACKEND": "local"}, "STORAGE_BACKEND"),
        ({"R2_ACCESS_KEY_ID": ""}, "R2_ACCESS_KEY_ID"),
        ({"R2_SECRET_ACCESS_KEY": ""}, "R2_SECRET_ACCESS_KEY"),
        ({"R2_BUCKET": ""}, "R2_BUCKET"),
        ({"R2_ACCOUNT_ID": ""}, "R2_ENDPOINT_URL"),
    ],
    ids=[
        "no-database",
        "sqlite",
        "localhost",
        "loopback-ip",
        "no-redis",
        "local-storage",
        "no-access-key",
        "no-secret",
        "no-bucket",
        "no-endpoint",
    ],
)
def test_production_refuses_unsafe_settings(monkeypatch, override, variable):
    """Production stops at start with one clear line naming the missing or unsafe variable."""
    message = refusal(monkeypatch, {**PRODUCTION_OK, **override})
    assert variable in message


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgres://u:p@db.example.com:5432/app", "postgresql+psycopg2://u:p@db.example.com:5432/app"),
        ("postgresql://u:p@db.example.com/app", "postgresql+psycopg2://u:p@db.example.com/app"),
        ("postgresql+psycopg2://u@db.example.com/app", "postgresql+psycopg2://u@db.example.com/app"),
    ],
)
def test_postgres_urls_are_normalized(monkeypatch, given, expected):
    """postgres:// (Railway, Heroku) and bare postgresql:// both mean psycopg2."""
    monkeypatch.setenv("DATABASE_URL", given)
    assert load_settings().effective_database_url == expected


def test_secrets_are_masked_in_repr(monkeypatch):
    """The R2 secret never shows up in the settings' repr (logs, tracebacks)."""
    set_env(monkeypatch, PRODUCTION_OK)
    assert "very-secret-value" not in repr(load_settings())


def test_repr_shows_no_database_or_redis_password(monkeypatch):
    """Every URL in repr(Settings) and str(Settings) keeps its user and host but not its password."""
    set_env(
        monkeypatch,
        {
            "DATABASE_URL": "postgresql://app:db-pass-31337@db.example.com:5432/app",
            "REDIS_URL": "redis://default:redis-pass-31337@cache.example.com:6379/0",
            "CELERY_BROKER_URL": "redis://:broker-pass-31337@cache.example.com:6379/1",
            "RATE_LIMIT_STORAGE_URL": "redis://:limits-pass-31337@cache.example.com:6379/2",
        },
    )
    settings = load_settings()
    for text in (repr(settings), str(settings)):
        assert "pass-31337" not in text
        assert "postgresql://app:***@db.example.com:5432/app" in text
        assert "redis://default:***@cache.example.com:6379/0" in text
    assert settings.database_url == "postgresql://app:db-pass-31337@db.example.com:5432/app"


def test_redis_tls_flag_upgrades_the_scheme(monkeypatch):
    """REDIS_TLS=true turns redis:// into rediss://."""
    set_env(monkeypatch, {"REDIS_URL": "redis://cache.example.com:6380/0", "REDIS_TLS": "true"})
    assert load_settings().broker_url == "rediss://cache.example.com:6380/0"


def test_celery_broker_url_overrides_redis(monkeypatch):
    """CELERY_BROKER_URL wins over REDIS_URL for the broker."""
    set_env(monkeypatch, {"REDIS_URL": "redis://a:6379/0", "CELERY_BROKER_URL": "redis://b:6379/1"})
    assert load_settings().broker_url == "redis://b:6379/1"


def test_rediss_verifies_certificates(monkeypatch):
    """A rediss:// broker gets TLS with certificate verification required."""
    monkeypatch.setenv("REDIS_URL", "rediss://cache.example.com:6380/0")
    app = make_celery(load_settings())
    assert app.conf.broker_use_ssl == {"ssl_cert_reqs": ssl.CERT_REQUIRED}


@pytest.mark.parametrize("value", ["none", "CERT_NONE"])
def test_rediss_without_verification_is_refused(monkeypatch, value):
    """rediss:// with ssl_cert_reqs=none is refused with one line naming REDIS_URL."""
    monkeypatch.setenv("REDIS_URL", f"rediss://cache.example.com:6380/0?ssl_cert_reqs={value}")
    with pytest.raises(ConfigError, match=r"^REDIS_URL: ssl_cert_reqs=none is refused"):
        make_celery(load_settings())


def test_plain_redis_has_no_tls(monkeypatch):
    """A redis:// broker is used without TLS options."""
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    assert make_celery(load_settings()).conf.broker_use_ssl is None


def test_embedded_broker_folders_are_created(tmp_path):
    """The filesystem broker's folders are created under VAR_DIR."""
    app = make_celery(load_settings(var_dir=tmp_path / "state"))
    options = app.conf.broker_transport_options
    assert app.conf.broker_url == "filesystem://localhost/"
    assert Path(options["data_folder_in"]) == tmp_path / "state" / "broker" / "queue"
    assert (tmp_path / "state" / "broker" / "queue").is_dir()


def test_env_example_lists_every_setting():
    """.env.example names every variable backend/settings.py reads, with its default."""
    example = (Path(__file__).resolve().parents[2] / ".env.example").read_text()
    listed = dict(re.findall(r"^# ([A-Z][A-Z0-9_]*)=(.*)$", example, flags=re.MULTILINE))
    missing = [name.upper() for name in Settings.model_fields if name.upper() not in listed]
    assert missing == []
    for name, field in Settings.model_fields.items():
        if field.default is not None and not isinstance(field.default, Path):
            expected = str(field.default).lower() if isinstance(field.default, bool) else str(field.default)
            assert listed[name.upper()] == expected, name


@pytest.mark.parametrize("value", ["optional", "CERT_OPTIONAL", "None", " cert_none"])
def test_rediss_with_optional_or_any_spelling_of_none_is_refused(monkeypatch, value):
    """Every spelling that would let an unverified certificate through is refused at start."""
    monkeypatch.setenv("REDIS_URL", f"rediss://cache.example.com:6380/0?ssl_cert_reqs={value}")
    with pytest.raises(ConfigError, match=r"^REDIS_URL: ssl_cert_reqs=none is refused"):
        make_celery(load_settings())


def test_redis_tls_flag_verifies_certificates(monkeypatch):
    """REDIS_TLS=true on a redis:// URL gets TLS with verification required, too."""
    monkeypatch.setenv("REDIS_URL", "redis://cache.example.com:6380/0")
    monkeypatch.setenv("REDIS_TLS", "true")
    assert make_celery(load_settings()).conf.broker_use_ssl == {"ssl_cert_reqs": ssl.CERT_REQUIRED}
