"""The deploy files agree with each other: Railway configs, Dockerfiles, start scripts, linters."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from backend.migrate import worst_case_start_seconds

ROOT = Path(__file__).resolve().parent.parent
# Time from gunicorn's exec to a first answer on /health (imports, fork, first checks).
GUNICORN_START_SECONDS = 15
SCRIPTS = [ROOT / "railway-worker-entrypoint.sh", ROOT / "scripts" / "web-start.sh"]


def railway(service: str) -> dict:
    return json.loads((ROOT / f"railway.{service}.json").read_text())


@pytest.mark.parametrize("service", ["web", "worker"])
def test_railway_config_builds_its_dockerfile_and_bounds_restarts(service):
    """Each service builds its own Dockerfile, starts its script, and restarts on failure a bounded number of times."""
    config = railway(service)
    dockerfile = ROOT / config["build"]["dockerfilePath"]
    assert dockerfile.name == f"Dockerfile.{service}" and dockerfile.exists()
    deploy = config["deploy"]
    assert (deploy["restartPolicyType"], 1 <= deploy["restartPolicyMaxRetries"] <= 10) == ("ON_FAILURE", True)
    assert isinstance(deploy["drainingSeconds"], int)
    script = deploy["startCommand"].removeprefix("/app/")
    assert (ROOT / script).exists()
    assert script in dockerfile.read_text()


def test_web_health_check_and_draining_cover_gunicorn_graceful_timeout():
    """Railway checks /health, and waits longer after SIGTERM than gunicorn's graceful timeout."""
    deploy = railway("web")["deploy"]
    conf = (ROOT / "gunicorn.conf.py").read_text()
    graceful = int(re.search(r'_int\("GUNICORN_GRACEFUL_TIMEOUT", (\d+)\)', conf).group(1))
    assert deploy["healthcheckPath"] == "/health"
    assert deploy["drainingSeconds"] > graceful


def test_images_run_as_non_root_with_a_healthcheck():
    """Both images drop root and declare a HEALTHCHECK; the entrypoints exec their process."""
    for name in ("Dockerfile.web", "Dockerfile.worker"):
        text = (ROOT / name).read_text()
        assert "FROM python:3.11-slim" in text
        assert "USER 10001:10001" in text
        assert "HEALTHCHECK" in text
    for script in SCRIPTS:
        assert re.search(r"^exec ", script.read_text(), flags=re.MULTILINE), script


@pytest.mark.skipif(
    shutil.which("shellcheck") is None,
    reason="shellcheck is not installed (apt-get install shellcheck; .ci/run installs it)",
)
def test_scripts_pass_shellcheck():
    """The start scripts pass shellcheck with no findings."""
    result = subprocess.run(["shellcheck", *map(str, SCRIPTS)], capture_output=True, text=True, check=False)
    assert (result.returncode, result.stdout) == (0, "")


def test_migration_runner_gives_up_before_the_web_health_check_window():
    """Every connect timing out, then the whole lock wait, still ends the start before Railway's healthcheckTimeout."""
    window = railway("web")["deploy"]["healthcheckTimeout"]
    assert worst_case_start_seconds() + GUNICORN_START_SECONDS < window
    assert worst_case_start_seconds(lock_wait_seconds=600) > window, "the bound is what the default buys"
