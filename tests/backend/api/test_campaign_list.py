"""GET /api/v1/campaigns (and /campaigns/{id}): yours, newest first, keyset pages, counts, name, last job."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from backend.models import Campaign, JobStatus

CAMPAIGN_FIELDS = ["id", "name", "created_at", "job_count", "image_count", "last_job", "links"]


def make_dated_campaign(db, owner, created_at, name=None) -> uuid.UUID:
    with db.session() as session:
        campaign = Campaign(id=uuid.uuid4(), user_id=owner.user_id, created_at=created_at, name=name)
        session.add(campaign)
        session.commit()
        return campaign.id


def test_campaigns_are_listed_newest_first_with_counts_and_the_last_jobs_status(
    api, db, make_job, make_image
):
    now = datetime.now(UTC)
    old = make_dated_campaign(db, api, now - timedelta(days=2), name="Spring launch")
    new = make_dated_campaign(db, api, now - timedelta(hours=1))
    make_job(api, old, status=JobStatus.FAILED, created_at=now - timedelta(days=2))
    last = make_job(api, old, status=JobStatus.SUCCEEDED, created_at=now - timedelta(days=1))
    make_image(old, job_id=last)
    make_image(old, job_id=last)

    response = api.get("/api/v1/campaigns")

    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [item["id"] for item in items] == [str(new), str(old)]
    assert list(items[0]) == CAMPAIGN_FIELDS
    assert items[0] | {"created_at": None, "links": None} == {
        "id": str(new),
        "name": None,
        "created_at": None,
        "job_count": 0,
        "image_count": 0,
        "last_job": None,
        "links": None,
    }
    assert items[1]["name"] == "Spring launch"
    assert (items[1]["job_count"], items[1]["image_count"]) == (2, 2)
    assert items[1]["last_job"]["id"] == str(last)
    assert items[1]["last_job"]["status"] == "succeeded"
    assert items[1]["links"]["images"] == f"/api/v1/campaigns/{old}/images"
    assert response.get_json()["next_cursor"] is None


def test_campaign_pages_follow_the_cursor_without_gaps_or_repeats(api, db):
    start = datetime.now(UTC)
    made = [make_dated_campaign(db, api, start - timedelta(minutes=index)) for index in range(5)]
    # Two campaigns in the same instant: the id breaks the tie.
    made += [make_dated_campaign(db, api, start - timedelta(minutes=9)) for _ in range(2)]
    seen, cursor, pages = [], None, 0
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        body = api.get(f"/api/v1/campaigns{query}").get_json()
        seen += [item["id"] for item in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 4
    assert len(seen) == len(set(seen)) == 7
    assert seen[:5] == [str(campaign) for campaign in made[:5]]
    assert set(seen[5:]) == {str(campaign) for campaign in made[5:]}


def test_only_the_callers_campaigns_are_listed_and_others_are_404(api, other_api, make_campaign):
    mine = make_campaign(api)
    theirs = make_campaign(other_api)
    listed = [item["id"] for item in api.get("/api/v1/campaigns").get_json()["items"]]
    assert listed == [str(mine)]
    assert api.get(f"/api/v1/campaigns/{theirs}").status_code == 404
    one = api.get(f"/api/v1/campaigns/{mine}")
    assert one.status_code == 200
    assert one.get_json()["id"] == str(mine)


def test_a_bad_cursor_or_limit_is_a_422(api):
    assert api.get("/api/v1/campaigns?cursor=nonsense").status_code == 422
    assert api.get("/api/v1/campaigns?limit=0").status_code == 422
    jobs_cursor = "WyJqb2JzIiwiMjAyNi0wMS0wMVQwMDowMDowMCIsIjEiXQ"
    assert api.get(f"/api/v1/campaigns?cursor={jobs_cursor}").status_code == 422


def test_campaign_name_is_set_when_submitting_and_renames_an_existing_campaign(api):
    first = api.post(
        "/api/v1/jobs",
        json={"sales_page_url": "https://shop.example.test/p/1", "campaign_name": "  Autumn catalogue "},
    )
    assert first.status_code == 202, first.get_json()
    campaign_id = first.get_json()["campaign_id"]
    assert api.get(f"/api/v1/campaigns/{campaign_id}").get_json()["name"] == "Autumn catalogue"

    unnamed = api.post(
        "/api/v1/jobs", json={"sales_page_url": "https://shop.example.test/p/2", "campaign_id": campaign_id}
    )
    assert unnamed.status_code == 202
    assert api.get(f"/api/v1/campaigns/{campaign_id}").get_json()["name"] == "Autumn catalogue"

    renamed = api.post(
        "/api/v1/jobs",
        json={
            "sales_page_url": "https://shop.example.test/p/3",
            "campaign_id": campaign_id,
            "campaign_name": "Winter",
        },
    )
    assert renamed.status_code == 202
    summary = api.get(f"/api/v1/campaigns/{campaign_id}").get_json()
    assert (summary["name"], summary["job_count"], summary["last_job"]["status"]) == ("Winter", 3, "queued")


def test_a_blank_or_overlong_campaign_name_is_a_422(api):
    for name in ("   ", "x" * 201, "nul\u0000byte", "line\nbreak"):
        response = api.post(
            "/api/v1/jobs", json={"sales_page_url": "https://shop.example.test/p/1", "campaign_name": name}
        )
        assert response.status_code == 422
        assert response.get_json()["errors"][0]["field"] == "campaign_name"
