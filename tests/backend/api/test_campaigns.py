"""/api/v1/campaigns/…: ranked listing, filters, cursors, stats, use, and deletes down to the S3 object."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from backend.models import Campaign, ImageType, Job, JobStatus, ScrapedImage
from backend.object_deletes import drain, pending_keys

IMAGE_FIELDS = [
    "id",
    "campaign_id",
    "job_id",
    "cdn_url",
    "thumbnail_url",
    "storage_key",
    "original_url",
    "width",
    "height",
    "file_size",
    "format",
    "quality_score",
    "image_type",
    "is_hero",
    "is_product",
    "is_lifestyle",
    "alt_text",
    "content_hash",
    "times_used",
    "last_used_at",
    "scraped_at",
]


def count(db, model, **where):
    with db.session() as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return session.scalar(query)


def test_list_images_best_first_with_the_documented_shape(api, make_campaign, make_job, make_image):
    """Images come quality-descending, ties by id, each with exactly the documented fields."""
    campaign = make_campaign(api)
    job_id = make_job(api, campaign, status=JobStatus.SUCCEEDED)
    low = make_image(campaign, quality_score=40.0, job_id=job_id)
    high = make_image(campaign, quality_score=91.5, job_id=job_id)
    tie_a = make_image(campaign, quality_score=70.0, id=uuid.UUID(int=1))
    tie_b = make_image(campaign, quality_score=70.0, id=uuid.UUID(int=2))

    response = api.get(f"/api/v1/campaigns/{campaign}/images")

    assert response.status_code == 200
    body = response.get_json()
    assert [item["id"] for item in body["items"]] == [str(i.id) for i in (high, tie_a, tie_b, low)]
    assert body["next_cursor"] is None
    first = body["items"][0]
    assert list(first) == IMAGE_FIELDS
    assert first["campaign_id"] == str(campaign)
    assert first["job_id"] == str(job_id)
    assert first["quality_score"] == 91.5
    assert first["image_type"] == "product"
    assert first["storage_key"] == high.storage_key
    assert first["times_used"] == 0 and first["last_used_at"] is None
    assert first["scraped_at"].endswith("Z")


def test_list_images_filters_by_type_and_min_quality(api, make_campaign, make_image):
    """image_type and min_quality narrow the ranking."""
    campaign = make_campaign(api)
    hero = make_image(campaign, image_type=ImageType.HERO, quality_score=95.0)
    product = make_image(campaign, image_type=ImageType.PRODUCT, quality_score=60.0)
    make_image(campaign, image_type=ImageType.LIFESTYLE, quality_score=30.0)

    def ids(**query):
        body = api.get(f"/api/v1/campaigns/{campaign}/images", query_string=query).get_json()
        return [item["id"] for item in body["items"]]

    assert ids(image_type="hero") == [str(hero.id)]
    assert ids(min_quality=60) == [str(hero.id), str(product.id)]
    assert ids(image_type="product", min_quality=61) == []
    assert len(ids()) == 3


def test_list_images_pages_with_an_opaque_cursor(api, make_campaign, make_image):
    """limit + next_cursor walk the ranking once, in order, across equal scores."""
    campaign = make_campaign(api)
    images = [
        make_image(campaign, quality_score=score) for score in (90.0, 80.0, 80.0, 80.0, 70.0, 60.0, 50.0)
    ]
    expected = [str(i.id) for i in sorted(images, key=lambda i: (-i.quality_score, i.id))]

    seen, cursor = [], None
    while True:
        query = {"limit": 3} | ({"cursor": cursor} if cursor else {})
        body = api.get(f"/api/v1/campaigns/{campaign}/images", query_string=query).get_json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert seen == expected


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"image_type": "banner"}, "image_type"),
        ({"min_quality": 101}, "min_quality"),
        ({"min_quality": "good"}, "min_quality"),
        ({"limit": 500}, "limit"),
        ({"cursor": "WyJqb2JzIiwiMjAyNSIsIngiXQ"}, "cursor"),
    ],
)
def test_list_images_bad_query_is_422(api, make_campaign, query, field):
    """Unknown types, out-of-range qualities and limits, and foreign cursors are 422 by name."""
    campaign = make_campaign(api)

    response = api.get(f"/api/v1/campaigns/{campaign}/images", query_string=query)

    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == [field]


def test_stats_add_up(api, make_campaign, make_image):
    """Counts by type (the hero once, as hero), average and best quality, and total bytes match the rows;
    the type counts add up to the total."""
    campaign = make_campaign(api)
    make_image(campaign, image_type=ImageType.HERO, quality_score=90.0, file_size=3000)
    make_image(campaign, image_type=ImageType.PRODUCT, quality_score=70.0, file_size=2000)
    make_image(campaign, image_type=ImageType.PRODUCT, quality_score=50.0, file_size=1500)
    make_image(campaign, image_type=ImageType.LIFESTYLE, quality_score=31.0, file_size=500)
    other = make_campaign(api)
    make_image(other, quality_score=100.0, file_size=99999)

    response = api.get(f"/api/v1/campaigns/{campaign}/images/stats")

    assert response.status_code == 200
    assert response.get_json() == {
        "total_count": 4,
        "hero_count": 1,
        "product_count": 2,  # the hero is counted once, as hero, though it is a product shot too
        "lifestyle_count": 1,
        "avg_quality": 60.25,  # (90 + 70 + 50 + 31) / 4
        "max_quality": 90.0,
        "total_bytes": 7000,
    }


def test_stats_of_an_empty_campaign(api, make_campaign):
    """A campaign without images has zero counts and no quality figures."""
    campaign = make_campaign(api)

    assert api.get(f"/api/v1/campaigns/{campaign}/images/stats").get_json() == {
        "total_count": 0,
        "hero_count": 0,
        "product_count": 0,
        "lifestyle_count": 0,
        "avg_quality": None,
        "max_quality": None,
        "total_bytes": 0,
    }


def test_use_counts_every_call_and_stamps_last_used(api, make_campaign, make_image, db):
    """Each POST …/use adds one to times_used and sets last_used_at."""
    campaign = make_campaign(api)
    image = make_image(campaign)

    first = api.post(f"/api/v1/campaigns/{campaign}/images/{image.id}/use")
    second = api.post(f"/api/v1/campaigns/{campaign}/images/{image.id}/use")

    assert (first.status_code, second.status_code) == (200, 200)
    assert list(second.get_json()) == IMAGE_FIELDS
    assert second.get_json()["times_used"] == 2
    assert second.get_json()["last_used_at"] >= first.get_json()["last_used_at"]
    with db.session() as session:
        assert session.get(ScrapedImage, image.id).times_used == 2


def test_delete_image_removes_the_row_and_the_s3_object(api, make_campaign, make_image, store, s3_server, db):
    """DELETE answers 204 with the row gone and its key recorded; the worker's drain then removes the object."""
    campaign = make_campaign(api)
    image = make_image(campaign)
    keep = make_image(campaign)
    store.put(image.storage_key, b"jpeg-bytes", "image/jpeg")
    store.put(keep.storage_key, b"other-bytes", "image/jpeg")

    response = api.delete(f"/api/v1/campaigns/{campaign}/images/{image.id}")

    assert response.status_code == 204
    assert response.get_data() == b""
    assert count(db, ScrapedImage, id=image.id) == 0
    assert pending_keys(db) == [image.storage_key]
    assert drain(db, store).removed == 1
    assert s3_server.object_keys() == [keep.storage_key]
    assert pending_keys(db) == []
    assert api.delete(f"/api/v1/campaigns/{campaign}/images/{image.id}").status_code == 404


def test_delete_image_keeps_an_object_another_row_still_uses(
    api, make_campaign, make_image, store, s3_server, db
):
    """If another row references the same storage key, the object stays."""
    campaign = make_campaign(api)
    image = make_image(campaign)
    other_campaign = make_campaign(api)
    sharer = make_image(other_campaign, storage_key=image.storage_key)
    store.put(image.storage_key, b"jpeg-bytes", "image/jpeg")

    assert api.delete(f"/api/v1/campaigns/{campaign}/images/{image.id}").status_code == 204
    report = drain(db, store)

    assert (report.removed, report.still_referenced) == (0, 1)
    assert s3_server.object_keys() == [sharer.storage_key]
    assert pending_keys(db) == []


def test_delete_campaign_cascades_to_jobs_images_and_objects(
    api, make_campaign, make_job, make_image, store, s3_server, db
):
    """Deleting a campaign removes its jobs, its images and their objects, and nothing else."""
    campaign = make_campaign(api)
    job_id = make_job(api, campaign, status=JobStatus.SUCCEEDED)
    doomed = [make_image(campaign, job_id=job_id) for _ in range(3)]
    survivor_campaign = make_campaign(api)
    survivor = make_image(survivor_campaign)
    for image in [*doomed, survivor]:
        store.put(image.storage_key, b"bytes", "image/jpeg")

    response = api.delete(f"/api/v1/campaigns/{campaign}")

    assert response.status_code == 204
    assert count(db, Campaign, id=campaign) == 0
    assert count(db, Job, campaign_id=campaign) == 0
    assert count(db, ScrapedImage, campaign_id=campaign) == 0
    assert count(db, ScrapedImage, campaign_id=survivor_campaign) == 1
    assert drain(db, store).removed == 3
    assert s3_server.object_keys() == [survivor.storage_key]
    assert api.get(f"/api/v1/campaigns/{campaign}/images").status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/campaigns/{campaign}/images"),
        ("get", "/api/v1/campaigns/{campaign}/images/stats"),
        ("post", "/api/v1/campaigns/{campaign}/images/{image}/use"),
        ("delete", "/api/v1/campaigns/{campaign}/images/{image}"),
        ("delete", "/api/v1/campaigns/{campaign}"),
    ],
)
def test_another_users_campaign_is_404_and_untouched(
    api, other_api, make_campaign, make_image, store, s3_server, db, method, path
):
    """Every campaign route answers 404 for someone else's campaign, exactly as for an unknown one."""
    foreign = make_campaign(other_api)
    image = make_image(foreign)
    store.put(image.storage_key, b"bytes", "image/jpeg")

    foreign_response = getattr(api, method)(path.format(campaign=foreign, image=image.id))
    unknown_response = getattr(api, method)(path.format(campaign=uuid.uuid4(), image=uuid.uuid4()))

    assert foreign_response.status_code == unknown_response.status_code == 404
    assert foreign_response.get_json() == unknown_response.get_json()
    assert count(db, ScrapedImage, id=image.id) == 1
    assert s3_server.object_keys() == [image.storage_key]
    with db.session() as session:
        assert session.get(ScrapedImage, image.id).times_used == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/campaigns/{campaign}/images/{image}/use"),
        ("delete", "/api/v1/campaigns/{campaign}/images/{image}"),
    ],
)
def test_an_image_addressed_through_the_wrong_campaign_is_404(
    api, other_api, make_campaign, make_image, db, method, path
):
    """An image id only resolves inside its own campaign, even when the caller owns the path's campaign."""
    mine = make_campaign(api)
    foreign_image = make_image(make_campaign(other_api))
    own_other_image = make_image(make_campaign(api))

    for image in (foreign_image, own_other_image):
        response = getattr(api, method)(path.format(campaign=mine, image=image.id))
        assert response.status_code == 404
        assert count(db, ScrapedImage, id=image.id) == 1


def test_images_come_in_the_pipelines_rank_by_default_and_by_quality_on_request(
    api, make_campaign, make_image
):
    """Each job's hero (rank 0) first, then best first, even above higher scores; order=quality sorts by score."""
    campaign = make_campaign(api)
    hero = make_image(campaign, image_type=ImageType.HERO, quality_score=60.0, pipeline_rank=0)
    best = make_image(campaign, quality_score=95.0, pipeline_rank=1)
    second = make_image(campaign, quality_score=80.0, pipeline_rank=2)

    def ids(**query):
        body = api.get(f"/api/v1/campaigns/{campaign}/images", query_string=query).get_json()
        return [item["id"] for item in body["items"]]

    assert ids() == [str(i.id) for i in (hero, best, second)]
    assert ids(order="rank") == ids()
    assert ids(order="quality") == [str(i.id) for i in (best, second, hero)]


@pytest.mark.parametrize("order", ["rank", "quality"])
def test_a_cursor_walks_its_own_order_once_and_not_the_other(api, make_campaign, make_image, order):
    """Pages follow the order asked for across equal ranks and scores; a cursor of the other order is 422."""
    campaign = make_campaign(api)
    images = [
        make_image(campaign, quality_score=score, pipeline_rank=rank)
        for rank, score in ((0, 50.0), (1, 90.0), (1, 90.0), (2, 70.0), (0, 40.0), (3, 99.0), (2, 70.0))
    ]
    key = (lambda i: (i.pipeline_rank, -i.quality_score, i.id)) if order == "rank" else None
    expected = [str(i.id) for i in sorted(images, key=key or (lambda i: (-i.quality_score, i.id)))]

    seen, cursor, first_cursor = [], None, None
    while True:
        query = {"limit": 2, "order": order} | ({"cursor": cursor} if cursor else {})
        body = api.get(f"/api/v1/campaigns/{campaign}/images", query_string=query).get_json()
        seen += [item["id"] for item in body["items"]]
        cursor = body["next_cursor"]
        first_cursor = first_cursor or cursor
        if cursor is None:
            break

    assert seen == expected
    other = "quality" if order == "rank" else "rank"
    response = api.get(
        f"/api/v1/campaigns/{campaign}/images", query_string={"order": other, "cursor": first_cursor}
    )
    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == ["cursor"]
