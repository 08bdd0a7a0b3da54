"""thumbnail_url in the image JSON, and deletes that take the thumbnail object off S3 with the original."""

from __future__ import annotations

from backend.images import referenced_keys
from backend.object_deletes import drain


def with_thumbnail(make_image, store, campaign):
    """An image row whose original and thumbnail both exist on the S3 server."""
    image = make_image(campaign)
    thumb_key = image.storage_key.replace(f"{campaign}/", f"{campaign}/thumbs/").replace(".jpg", ".webp")
    image = make_image(
        campaign,
        content_hash=image.content_hash[::-1],
        thumbnail_key=thumb_key,
        thumbnail_url=f"https://cdn.example.test/{thumb_key}",
    )
    store.put(image.storage_key, b"jpeg-bytes", "image/jpeg")
    store.put(thumb_key, b"webp-bytes", "image/webp")
    return image


def test_image_json_carries_the_thumbnail_url(api, make_campaign, make_image, store):
    """The listing returns each image's thumbnail_url (null where none was made)."""
    campaign = make_campaign(api)
    image = with_thumbnail(make_image, store, campaign)

    items = api.get(f"/api/v1/campaigns/{campaign}/images").get_json()["items"]

    by_id = {item["id"]: item["thumbnail_url"] for item in items}
    assert by_id.pop(str(image.id)) == image.thumbnail_url
    assert list(by_id.values()) == [None]


def test_delete_image_removes_its_thumbnail_object(api, make_campaign, make_image, store, s3_server, db):
    """DELETE of an image takes both its original and its thumbnail off the S3 server."""
    campaign = make_campaign(api)
    image = with_thumbnail(make_image, store, campaign)
    keep = with_thumbnail(make_image, store, campaign)

    assert api.delete(f"/api/v1/campaigns/{campaign}/images/{image.id}").status_code == 204
    drain(db, store)

    assert sorted(s3_server.object_keys()) == sorted([keep.storage_key, keep.thumbnail_key])


def test_delete_campaign_removes_every_thumbnail(api, make_campaign, make_image, store, s3_server, db):
    """Deleting a campaign removes its originals and thumbnails, and leaves other campaigns' alone."""
    campaign = make_campaign(api)
    for _ in range(2):
        with_thumbnail(make_image, store, campaign)
    other = make_campaign(api)
    survivor = with_thumbnail(make_image, store, other)

    assert api.delete(f"/api/v1/campaigns/{campaign}").status_code == 204
    drain(db, store)

    assert sorted(s3_server.object_keys()) == sorted([survivor.storage_key, survivor.thumbnail_key])


def test_a_thumbnail_another_row_still_uses_is_kept(api, make_campaign, make_image, store, s3_server, db):
    """A thumbnail key some other row still points at counts as referenced and stays on S3."""
    campaign = make_campaign(api)
    image = with_thumbnail(make_image, store, campaign)
    sharer = make_image(make_campaign(api), thumbnail_key=image.thumbnail_key)

    assert api.delete(f"/api/v1/campaigns/{campaign}/images/{image.id}").status_code == 204
    drain(db, store)

    assert s3_server.object_keys() == [sharer.thumbnail_key]
    with db.session() as session:
        assert referenced_keys(session, [image.storage_key, image.thumbnail_key]) == {image.thumbnail_key}
