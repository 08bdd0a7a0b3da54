"""Foundation checks: settings load, the schema migrates, the store round-trips."""

from sqlalchemy import inspect


def test_migrated_tables_exist(db):
    """alembic upgrade head creates every table the models declare."""
    names = set(inspect(db.engine).get_table_names())
    assert {"users", "api_keys", "campaigns", "jobs", "scraped_images"} <= names


def test_store_round_trip(store):
    """The S3 store writes, reads, and deletes through the loopback S3 server."""
    store.put("a/b.jpg", b"xyz", "image/jpeg")
    assert store.get("a/b.jpg") == b"xyz"
    store.delete("a/b.jpg")
    assert not store.exists("a/b.jpg")
