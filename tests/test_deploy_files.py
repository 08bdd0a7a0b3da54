"""The deploy files agree with each other: Railway configs, Dockerfiles, start scripts, linters."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
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


def image_files(dockerfile: str, into: Path) -> Path:
    """Copy what `dockerfile` COPYs into its WORKDIR to `into`: the image's file list, as Docker lays it out."""
    for line in (ROOT / dockerfile).read_text().splitlines():
        parts = line.split()
        if not parts or parts[0] != "COPY" or parts[-1].startswith("/"):
            continue  # requirements.txt goes to /tmp, outside the app
        *sources, destination = parts[1:]
        for source in (ROOT / name for name in sources):
            if destination.endswith("/") or destination in (".", "./"):
                # A directory destination: a folder's contents, or a file by its own name.
                target = into / destination
                if source.is_dir():
                    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
                else:
                    target.mkdir(parents=True, exist_ok=True)
                    shutil.copy(source, target / source.name)
            else:
                (into / destination).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(source, into / destination)
    return into


# Every ops command docs/deploy.md and docs/operations.md run in a container shell.
OPS_COMMANDS = [
    ["-m", "backend.verify_migrations"],
    ["-m", "backend.migrate", "--attempts", "1"],
    ["-m", "backend.check_settings"],
    ["-m", "backend.cli", "prune-orphans", "--dry-run"],
]


@pytest.mark.parametrize("dockerfile", ["Dockerfile.web", "Dockerfile.worker"])
def test_each_ops_command_runs_from_each_images_file_list(dockerfile, tmp_path, database_url, s3_settings):
    """Only the files the image COPYs: verify_migrations, migrate, check_settings and prune-orphans all work."""
    app = image_files(dockerfile, tmp_path / "app")
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("DATABASE", "REDIS", "R2_"))
    } | {"APP_ENV": "development", "DATABASE_URL": database_url, "VAR_DIR": str(tmp_path / "var")}
    env |= {key.upper(): str(value) for key, value in s3_settings.items()}
    for command in OPS_COMMANDS:
        result = subprocess.run(
            [sys.executable, *command],
            cwd=app,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, (command, result.stdout[-2000:], result.stderr[-2000:])
