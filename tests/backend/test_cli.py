"""`python -m backend.cli` as an operator runs it: a real process against Postgres, S3 and the shop site."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import tomllib
import uuid

import pytest
from sqlalchemy import select

from backend import cli
from backend.auth import authenticate, hash_key, issue_api_key
from backend.models import ApiKey, Campaign, ScrapedImage, User
from tests.conftest import settings_env
from tests.processes import ROOT
from tests.shopsite import build_site, serve_site


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-shop")
    manifest = build_site(root)
    with serve_site(root) as base_url:
        yield base_url, manifest


def run_cli(settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", **settings_env(settings)}
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_create_key_prints_the_key_alone_on_the_last_line_and_stores_its_hash(settings, db):
    """create-key makes the user and a working key; only the key's hash is in the database."""
    result = run_cli(settings, "create-key", "ops@example.test")
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip().splitlines()[-1]
    with db.session() as session:
        assert authenticate(session, key).email == "ops@example.test"
        assert session.scalar(select(ApiKey.key_hash)) == hash_key(key)


def test_scrape_runs_the_job_in_process_and_prints_the_api_objects(settings, db, store, site):
    """scrape --json stores images like a worker would (each with its place in the pipeline's ranking) and
    prints the job and the API's image objects in that rank: the hero first, then best first."""
    base_url, manifest = site
    campaign = str(uuid.uuid4())
    url = base_url + manifest.pages["basic"].path
    result = run_cli(settings, "scrape", url, "--campaign", campaign, "--max-images", "3", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["job"]["status"] == "succeeded"
    assert report["job"]["campaign_id"] == campaign
    images = report["images"]
    assert len(images) == 3 == report["job"]["progress"]["images_saved"]
    assert images[0]["is_hero"] and images[0]["image_type"] == "hero"
    assert [image["quality_score"] for image in images[1:]] == sorted(
        (i["quality_score"] for i in images[1:]), reverse=True
    )
    assert {"id", "cdn_url", "storage_key", "content_hash", "image_type"} <= set(images[0])
    for image in images:
        assert store.exists(image["storage_key"])
    with db.session() as session:
        ranks = {
            row.id: row.pipeline_rank
            for row in session.execute(select(ScrapedImage.id, ScrapedImage.pipeline_rank))
        }
    assert [ranks[uuid.UUID(image["id"])] for image in images] == [0, 1, 2]


def test_scrape_of_a_missing_page_exits_1_with_the_error_code(settings, db, store, site):
    """A failed job is reported on stderr with its code and a non-zero exit."""
    base_url, manifest = site
    result = run_cli(settings, "scrape", base_url + manifest.missing)
    assert result.returncode == 1
    assert "http_error" in result.stderr


def test_analyze_previews_without_saving(settings, db, store, site, s3_server):
    """analyze --json ranks candidates and lists skips; nothing reaches the database or storage."""
    base_url, manifest = site
    result = run_cli(settings, "analyze", base_url + manifest.pages["basic"].path, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["images_found"] >= len(report["candidates"]) > 0
    assert any(skip["reason"] for skip in report["skipped"])
    assert s3_server.object_keys() == []
    with db.session() as session:
        assert session.scalars(select(ScrapedImage)).all() == []


def test_analyze_refuses_a_private_address_when_not_allowed(make_settings):
    """Without SCRAPER_ALLOW_PRIVATE the preview of a loopback URL is blocked_url, exit 1."""
    result = run_cli(make_settings(scraper_allow_private=False), "analyze", "http://127.0.0.1:9/x.html")
    assert result.returncode == 1
    assert "blocked_url" in result.stderr


def test_a_bad_setting_is_one_clear_line(make_settings):
    """An invalid environment stops the command with one line naming the variable."""
    settings = make_settings()
    env = {"PATH": "/usr/bin:/bin", **settings_env(settings), "APP_ENV": "production"}
    result = subprocess.run(
        [sys.executable, "-m", "backend.cli", "create-key", "x@example.test"],
        check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip() == "configuration error: DATABASE_URL is required in production"


def test_prune_orphans_reports_and_keeps_an_object_younger_than_the_cutoff(settings, db, store, s3_server):
    """prune-orphans --json: a fresh unreferenced upload is counted as too recent and left in the bucket."""
    key = f"campaigns/{uuid.uuid4()}/fresh.jpg"
    store.put(key, b"jpg", "image/jpeg")
    result = run_cli(settings, "prune-orphans", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["objects"], report["too_recent"], report["removed"]) == (1, 1, 0)
    assert s3_server.object_keys() == [key]


def test_prune_orphans_refuses_a_cutoff_a_running_job_could_still_be_inside(settings, db, store):
    """--older-than-hours no longer than the hard time limit would delete uploads a job is about to commit: exit 2."""
    result = run_cli(settings, "prune-orphans", "--older-than-hours", "0.1")
    assert result.returncode == 2
    assert "must be more than a job can run" in result.stderr


def test_scrape_files_the_job_under_the_dev_user_or_the_keys_owner(settings, db, store, site):
    """By default the campaign belongs to dev@localhost (make run's key); --key acts as that key's owner."""
    base_url, manifest = site
    url = base_url + manifest.pages["basic"].path
    with db.session() as session:
        issued = issue_api_key(session, "someone@example.test")
        session.commit()
    default = run_cli(settings, "scrape", url, "--max-images", "1", "--name", "Tonic", "--json")
    keyed = run_cli(settings, "scrape", url, "--max-images", "1", "--key", issued.plaintext, "--json")
    wrong = run_cli(settings, "scrape", url, "--key", "pis_not-a-key")

    assert default.returncode == 0, default.stderr
    assert keyed.returncode == 0, keyed.stderr
    assert wrong.returncode == 2
    assert "--key" in wrong.stderr
    with db.session() as session:
        owners = {
            campaign.name: session.get(User, campaign.user_id).email
            for campaign in session.scalars(select(Campaign))
        }
    assert owners == {"Tonic": "dev@localhost", None: "someone@example.test"}


def test_the_scraper_command_is_declared_and_runs_the_cli():
    """pyproject.toml's [project.scripts] names `scraper`, pointing at the CLI's main."""
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    module, _, function = scripts["scraper"].partition(":")
    assert getattr(importlib.import_module(module), function) is cli.main
