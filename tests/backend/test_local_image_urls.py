"""Local storage keeps a path and answers with the address it is asked at: a new port breaks no link."""

from __future__ import annotations

import uuid

import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from backend import create_app
from backend.auth import issue_api_key
from backend.migrate import alembic_config, upgrade_to_head
from backend.models import Campaign, ImageType, ScrapedImage
from tests.backend.api.conftest import shutdown_app

BEFORE = "3f1c9a7e2b10"  # the revision before the one that turns stored local URLs into paths


@pytest.fixture
def local_app(make_settings, tmp_path, database_url, db):
    app = create_app(make_settings(database_url=database_url, local_storage_dir=tmp_path / "objects"))
    yield app
    shutdown_app(app)


def test_the_local_store_publishes_a_path_unless_a_public_url_is_set(make_settings):
    assert make_settings().local_public_url == "/files"
    assert make_settings(local_storage_public_url="https://img.example.test/x/").local_public_url == (
        "https://img.example.test/x"
    )


def test_a_stored_path_is_answered_under_the_address_the_client_used(local_app, db):
    store = local_app.extensions["scraper"].store
    key = "campaigns/c1/abc.jpg"
    with db.session() as session:
        issued = issue_api_key(session, "owner@example.test")
        campaign = Campaign(id=uuid.uuid4(), user_id=issued.user_id)
        session.add(campaign)
        session.add(
            ScrapedImage(
                campaign_id=campaign.id, cdn_url=store.public_url(key), storage_key=key,
                thumbnail_url=store.public_url("campaigns/c1/thumbs/abc.jpg"),
                original_url="https://shop.example.test/a.jpg", width=800, height=800, file_size=10,
                format="JPEG", quality_score=80.0, image_type=ImageType.PRODUCT, content_hash="ab" * 32,
            )
        )  # fmt: skip
        session.commit()
    headers = {"Authorization": f"Bearer {issued.plaintext}"}
    path = f"/api/v1/campaigns/{campaign.id}/images"

    stored = store.public_url(key)
    first = local_app.test_client().get(path, headers=headers, base_url="http://127.0.0.1:5000")
    moved = local_app.test_client().get(path, headers=headers, base_url="http://127.0.0.1:5077")

    assert stored == "/files/campaigns/c1/abc.jpg"
    assert first.get_json()["items"][0]["cdn_url"] == "http://127.0.0.1:5000/files/campaigns/c1/abc.jpg"
    image = moved.get_json()["items"][0]
    assert image["cdn_url"] == "http://127.0.0.1:5077/files/campaigns/c1/abc.jpg"
    assert image["thumbnail_url"] == "http://127.0.0.1:5077/files/campaigns/c1/thumbs/abc.jpg"


def test_the_migration_turns_stored_local_urls_into_paths_and_leaves_cdn_urls_alone(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        config = alembic_config(url)
        config.attributes["connection"] = conn
        command.upgrade(config, BEFORE)
        conn.commit()
    rows = {
        "local": ("http://127.0.0.1:5000/files/campaigns/c/a.jpg", "http://127.0.0.1:5000/files/campaigns/c/thumbs/a.jpg"),
        "localhost": ("http://localhost:5077/files/campaigns/c/b.jpg", None),
        "cdn": ("https://cdn.example.test/campaigns/c/c.jpg", "https://cdn.example.test/campaigns/c/thumbs/c.jpg"),
        "elsewhere": ("http://127.0.0.1:5000/not-files/d.jpg", None),
    }  # fmt: skip
    ids = {name: uuid.uuid4().hex for name in rows}
    names = {value: name for name, value in ids.items()}
    with engine.begin() as conn:
        conn.execute(
            text("INSERT INTO users (id, email, created_at) VALUES ('u1', 'a@b.test', '2026-01-01')")
        )
        conn.execute(
            text("INSERT INTO campaigns (id, user_id, created_at) VALUES ('c1', 'u1', '2026-01-01')")
        )
        for name, (cdn_url, thumb) in rows.items():
            conn.execute(
                text(
                    "INSERT INTO scraped_images (id, campaign_id, cdn_url, thumbnail_url, storage_key, original_url,"
                    " width, height, file_size, format, quality_score, image_type, is_hero, is_product,"
                    " is_lifestyle, content_hash, metadata, times_used, scraped_at) VALUES (:id, '"
                    + "2"
                    * 32
                    + "', :cdn,"
                    " :thumb, 'k', 'o', 1, 1, 1, 'JPEG', 1, 'product', 0, 1, 0, :id, '{}', 0, '2026-01-01')"
                ),
                {"id": ids[name], "cdn": cdn_url, "thumb": thumb},
            )

    upgrade_to_head(url, attempts=1)

    with engine.connect() as conn:
        found = {
            names[row[0]]: (row[1], row[2])
            for row in conn.execute(text("SELECT id, cdn_url, thumbnail_url FROM scraped_images"))
        }
    engine.dispose()
    assert found == {
        "local": ("/files/campaigns/c/a.jpg", "/files/campaigns/c/thumbs/a.jpg"),
        "localhost": ("/files/campaigns/c/b.jpg", None),
        "cdn": rows["cdn"],
        "elsewhere": rows["elsewhere"],
    }
