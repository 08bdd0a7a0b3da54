"""The suite's result does not depend on the application settings the user's shell exports."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import application_settings_in
from tests.processes import ROOT

# What a user scraping a local site, or pointing at a real database, may have exported.
EXPORTED = {
    "SCRAPER_ALLOW_PRIVATE": "true",
    "APP_ENV": "production",
    "DATABASE_URL": "postgresql://nobody@db.invalid:5432/nothing",
    "STORAGE_BACKEND": "s3",
    "SCRAPER_ALLOWED_ORIGINS": "http://127.0.0.1:9",
}


def test_application_settings_are_recognised_whatever_their_case():
    """Every Settings field counts, in the upper case a shell uses and the lower case pydantic also reads."""
    environ = {**EXPORTED, "scraper_timeout": "1", "PATH": "/usr/bin", "TEST_REDIS_DB": "13"}
    assert sorted(application_settings_in(environ)) == sorted([*EXPORTED, "scraper_timeout"])


def test_the_session_runs_without_the_shells_application_settings():
    """Nothing the application reads as configuration is left in this session's environment."""
    assert application_settings_in(dict(os.environ)) == []


def test_exported_settings_do_not_change_a_result():
    """With SCRAPER_ALLOW_PRIVATE=true (and friends) exported, a settings-sensitive test still passes."""
    env = {**os.environ, **EXPORTED}
    result = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            "tests/backend/test_logging.py::test_production_logs_json_development_logs_text",
            "tests/test_environment_isolation.py::test_the_session_runs_without_the_shells_application_settings",
        ],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "2 passed" in result.stdout
