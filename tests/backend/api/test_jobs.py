"""POST/GET /api/v1/jobs and cancel: validation, ownership, idempotency, pagination and the enqueue."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import select

from backend.api.schemas import encode_cursor
from backend.models import Campaign, Job, JobStatus, utcnow
from tests.backend.api.conftest import api_for
from tests.services import free_port

JOB_FIELDS = [
    "id",
    "campaign_id",
    "sales_page_url",
    "max_images",
    "status",
    "attempts",
    "progress",
    "error",
    "created_at",
    "started_at",
    "finished_at",
    "links",
]
URL = "https://shop.example.test/products/42"


def load_job(db, job_id):
    with db.session() as session:
        return session.get(Job, uuid.UUID(str(job_id)))


def test_submit_returns_202_with_the_documented_job_shape(api, db):
    """A valid submission answers 202, a Location header and exactly the documented job fields."""
    response = api.post("/api/v1/jobs", json={"sales_page_url": URL, "max_images": 5})

    assert response.status_code == 202
    body = response.get_json()
    assert list(body) == JOB_FIELDS
    assert response.headers["Location"] == f"/api/v1/jobs/{body['id']}"
    assert body["status"] == "queued"
    assert body["sales_page_url"] == URL
    assert body["max_images"] == 5
    assert body["attempts"] == 0
    assert body["progress"] == {
        "images_found": 0,
        "images_processed": 0,
        "images_saved": 0,
        "images_skipped": 0,
        "images_failed": 0,
    }
    assert body["error"] is None
    assert body["created_at"].endswith("Z")
    assert body["started_at"] is None and body["finished_at"] is None
    assert body["links"] == {
        "self": f"/api/v1/jobs/{body['id']}",
        "images": f"/api/v1/campaigns/{body['campaign_id']}/images",
    }
    stored = load_job(db, body["id"])
    assert (stored.user_id, stored.status, stored.max_images) == (api.user_id, JobStatus.QUEUED, 5)


def test_submit_defaults_max_images_to_10_and_creates_a_campaign(api, db):
    """Without campaign_id a new campaign is created for the caller; max_images defaults to 10."""
    body = api.post("/api/v1/jobs", json={"sales_page_url": URL}).get_json()

    assert body["max_images"] == 10
    with db.session() as session:
        campaign = session.get(Campaign, uuid.UUID(body["campaign_id"]))
    assert campaign is not None and campaign.user_id == api.user_id


def test_submit_with_a_new_campaign_id_creates_it_and_reuses_it(api, db):
    """The first job for an unknown campaign id creates it; the next job joins it."""
    campaign_id = str(uuid.uuid4())
    first = api.post("/api/v1/jobs", json={"sales_page_url": URL, "campaign_id": campaign_id})
    second = api.post("/api/v1/jobs", json={"sales_page_url": URL + "?v=2", "campaign_id": campaign_id})

    assert (first.status_code, second.status_code) == (202, 202)
    assert first.get_json()["campaign_id"] == second.get_json()["campaign_id"] == campaign_id
    with db.session() as session:
        assert session.scalars(select(Campaign.user_id)).all() == [api.user_id]


def test_submit_into_another_users_campaign_is_404(api, other_api, make_campaign, db):
    """A campaign owned by someone else looks like it does not exist, and no job is created."""
    foreign = make_campaign(other_api)

    response = api.post("/api/v1/jobs", json={"sales_page_url": URL, "campaign_id": str(foreign)})

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    with db.session() as session:
        assert session.scalars(select(Job)).all() == []


def test_submit_enqueues_one_message_on_the_scrape_queue(api, scrape_queue):
    """After the commit, one run_job message naming the job lands in Redis's "scrape" list."""
    body = api.post("/api/v1/jobs", json={"sales_page_url": URL}).get_json()

    assert scrape_queue.messages() == [{"task": "scraper.run_job", "args": [body["id"]]}]


def test_idempotency_key_replay_returns_the_same_job_with_200(api, db, scrape_queue):
    """The same key from the same user returns the first job (200) instead of creating another."""
    headers = {"Idempotency-Key": "order-7"}
    first = api.post("/api/v1/jobs", json={"sales_page_url": URL}, headers=headers)
    again = api.post("/api/v1/jobs", json={"sales_page_url": URL}, headers=headers)

    assert (first.status_code, again.status_code) == (202, 200)
    assert again.get_json() == first.get_json()
    assert again.headers["Location"] == first.headers["Location"]
    with db.session() as session:
        assert len(session.scalars(select(Job)).all()) == 1


def test_idempotency_key_with_a_different_request_is_409(api):
    """Reusing a key for a different page is a client bug: 409, not the old job."""
    headers = {"Idempotency-Key": "order-8"}
    api.post("/api/v1/jobs", json={"sales_page_url": URL}, headers=headers)

    response = api.post("/api/v1/jobs", json={"sales_page_url": URL + "/other"}, headers=headers)

    assert response.status_code == 409
    assert response.get_json()["status"] == 409


def test_idempotency_keys_are_per_user(api, other_api, db):
    """Two users may use the same key; each gets a job of their own."""
    headers = {"Idempotency-Key": "shared-key"}
    mine = api.post("/api/v1/jobs", json={"sales_page_url": URL}, headers=headers)
    theirs = other_api.post("/api/v1/jobs", json={"sales_page_url": URL}, headers=headers)

    assert (mine.status_code, theirs.status_code) == (202, 202)
    assert mine.get_json()["id"] != theirs.get_json()["id"]


def test_invalid_idempotency_key_is_422_naming_the_header(api):
    """An over-long Idempotency-Key is a 422 whose error names the header."""
    response = api.post("/api/v1/jobs", json={"sales_page_url": URL}, headers={"Idempotency-Key": "k" * 256})

    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == ["Idempotency-Key"]


@pytest.mark.parametrize("max_images", [0, 101, -1, "5", 2.5, True])
def test_max_images_out_of_range_or_not_an_integer_is_422(api, max_images):
    """max_images must be an integer from 1 to 100; the error names the field."""
    response = api.post("/api/v1/jobs", json={"sales_page_url": URL, "max_images": max_images})

    assert response.status_code == 422
    body = response.get_json()
    assert response.mimetype == "application/problem+json"
    assert body["status"] == 422
    assert [e["field"] for e in body["errors"]] == ["max_images"]


@pytest.mark.parametrize(
    "url",
    [
        "ftp://shop.example.test/p",
        "file:///etc/passwd",
        "javascript:alert(1)",
        "shop.example.test/p",
        "http://",
        "https://shop.example.test/a b",
        "",
        "https://shop.example.test/" + "a" * 2048,
    ],
)
def test_non_http_or_malformed_urls_are_422(api, url):
    """Only http(s) URLs with a host, no spaces and at most 2048 characters are accepted."""
    response = api.post("/api/v1/jobs", json={"sales_page_url": url})

    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == ["sales_page_url"]


def test_every_bad_field_gets_its_own_error_entry(api):
    """Several bad fields give one `errors` entry each."""
    response = api.post(
        "/api/v1/jobs",
        json={
            "sales_page_url": "ftp://x",
            "max_images": 0,
            "campaign_id": "nope",
            "callback_url": "mailto:x",
        },
    )

    assert response.status_code == 422
    fields = sorted(e["field"] for e in response.get_json()["errors"])
    assert fields == ["callback_url", "campaign_id", "max_images", "sales_page_url"]
    assert all(e["message"] for e in response.get_json()["errors"])


def test_missing_and_unknown_fields_are_422(api):
    """A missing sales_page_url and an unknown field are both reported by name."""
    response = api.post("/api/v1/jobs", json={"maxImages": 3})

    assert response.status_code == 422
    assert sorted(e["field"] for e in response.get_json()["errors"]) == ["maxImages", "sales_page_url"]


def test_malformed_json_is_400(api):
    """A JSON content type with a body that does not parse is a 400 problem."""
    response = api.post("/api/v1/jobs", data="{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 400


def test_wrong_content_type_is_415(api):
    """A form-encoded body is refused with 415 and the accepted type."""
    response = api.post("/api/v1/jobs", data={"sales_page_url": URL})

    assert response.status_code == 415
    assert response.mimetype == "application/problem+json"
    assert response.headers["Accept-Post"] == "application/json"


def test_a_json_array_body_is_422(api):
    """JSON that is not an object is a validation error on the body."""
    response = api.post("/api/v1/jobs", json=[URL])

    assert response.status_code == 422
    assert response.get_json()["errors"] == [{"field": "body", "message": "must be a JSON object"}]


def test_get_job_returns_the_callers_job(api):
    """GET /jobs/{id} returns the same document the submission did."""
    created = api.post("/api/v1/jobs", json={"sales_page_url": URL}).get_json()

    response = api.get(f"/api/v1/jobs/{created['id']}")

    assert response.status_code == 200
    assert response.get_json() == created


def test_get_job_shows_progress_and_error_as_the_worker_left_them(api, make_campaign, make_job):
    """A failed job shows its counters, its error {code, message} and its timestamps."""
    campaign = make_campaign(api)
    job_id = make_job(
        api,
        campaign,
        status=JobStatus.FAILED,
        attempts=1,
        images_found=7,
        images_failed=2,
        error_code="http_error",
        error_message="the page answered 404",
        started_at=utcnow(),
        finished_at=utcnow(),
    )

    body = api.get(f"/api/v1/jobs/{job_id}").get_json()

    assert body["status"] == "failed"
    assert body["progress"]["images_found"] == 7
    assert body["progress"]["images_failed"] == 2
    assert body["error"] == {"code": "http_error", "message": "the page answered 404"}
    assert body["started_at"].endswith("Z") and body["finished_at"].endswith("Z")


def test_get_unknown_or_foreign_job_is_404(api, other_api):
    """Someone else's job and a job that never existed answer the same 404."""
    theirs = other_api.post("/api/v1/jobs", json={"sales_page_url": URL}).get_json()

    foreign = api.get(f"/api/v1/jobs/{theirs['id']}")
    unknown = api.get(f"/api/v1/jobs/{uuid.uuid4()}")

    assert foreign.status_code == unknown.status_code == 404
    assert foreign.get_json() == unknown.get_json()
    assert theirs["sales_page_url"] not in foreign.get_data(as_text=True)


def test_job_id_that_is_not_a_uuid_is_404(api):
    """A malformed id is simply an unknown resource."""
    assert api.get("/api/v1/jobs/not-a-uuid").status_code == 404


def test_list_jobs_newest_first_and_only_the_callers(api, other_api):
    """The listing holds the caller's jobs only, newest first."""
    ids = [
        api.post("/api/v1/jobs", json={"sales_page_url": f"{URL}?n={n}"}).get_json()["id"] for n in range(3)
    ]
    other_api.post("/api/v1/jobs", json={"sales_page_url": URL})

    body = api.get("/api/v1/jobs").get_json()

    assert [job["id"] for job in body["items"]] == ids[::-1]
    assert body["next_cursor"] is None


def test_list_jobs_pages_with_an_opaque_cursor(api):
    """limit + next_cursor walk every job exactly once, newest first, then next_cursor is null."""
    ids = [
        api.post("/api/v1/jobs", json={"sales_page_url": f"{URL}?n={n}"}).get_json()["id"] for n in range(5)
    ]

    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        body = api.get("/api/v1/jobs", query_string=query).get_json()
        seen += [job["id"] for job in body["items"]]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break

    assert seen == ids[::-1]
    assert pages == 3


def test_list_jobs_filters_by_campaign_and_status(api, make_campaign, make_job):
    """campaign_id and status narrow the listing."""
    first, second = make_campaign(api), make_campaign(api)
    queued = make_job(api, first)
    done = make_job(api, first, status=JobStatus.SUCCEEDED)
    make_job(api, second)

    by_campaign = api.get("/api/v1/jobs", query_string={"campaign_id": str(first)}).get_json()
    by_status = api.get("/api/v1/jobs", query_string={"status": "succeeded"}).get_json()
    both = api.get("/api/v1/jobs", query_string={"campaign_id": str(first), "status": "queued"}).get_json()

    assert {job["id"] for job in by_campaign["items"]} == {str(queued), str(done)}
    assert [job["id"] for job in by_status["items"]] == [str(done)]
    assert [job["id"] for job in both["items"]] == [str(queued)]


def test_list_jobs_with_another_users_campaign_is_empty(api, other_api, make_campaign, make_job):
    """Filtering by someone else's campaign shows nothing of theirs."""
    foreign = make_campaign(other_api)
    make_job(other_api, foreign)

    body = api.get("/api/v1/jobs", query_string={"campaign_id": str(foreign)}).get_json()

    assert body == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"status": "done"}, "status"),
        ({"campaign_id": "x"}, "campaign_id"),
        ({"cursor": "garbage!"}, "cursor"),
        ({"cursor": "WyJpbWFnZXMiLDEuMCwiYSJd"}, "cursor"),
        # A job cursor whose timestamp carries no zone: ours always do, so it was not made here.
        ({"cursor": encode_cursor("jobs", "2026-01-01T00:00:00", str(uuid.uuid4()))}, "cursor"),
    ],
)
def test_list_jobs_bad_query_is_422_naming_the_parameter(api, query, field):
    """Bad limits, statuses, ids and cursors are 422 with the parameter's name."""
    response = api.get("/api/v1/jobs", query_string=query)

    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == [field]


def test_cancel_a_queued_job(api, db):
    """Cancelling a queued job answers 202 with the job now cancelled and finished."""
    job = api.post("/api/v1/jobs", json={"sales_page_url": URL}).get_json()

    response = api.post(f"/api/v1/jobs/{job['id']}/cancel")

    assert response.status_code == 202
    assert response.get_json()["status"] == "cancelled"
    assert response.get_json()["finished_at"] is not None
    assert load_job(db, job["id"]).status == JobStatus.CANCELLED


def test_cancel_a_running_job(api, make_campaign, make_job, db):
    """A running job can be cancelled too; the worker notices the status."""
    job_id = make_job(api, make_campaign(api), status=JobStatus.RUNNING, started_at=utcnow())

    response = api.post(f"/api/v1/jobs/{job_id}/cancel")

    assert response.status_code == 202
    assert load_job(db, job_id).status == JobStatus.CANCELLED


@pytest.mark.parametrize("status", [JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED])
def test_cancel_a_finished_job_is_409(api, make_campaign, make_job, db, status):
    """A terminal job cannot be cancelled: 409, and the row is unchanged."""
    job_id = make_job(api, make_campaign(api), status=status)

    response = api.post(f"/api/v1/jobs/{job_id}/cancel")

    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    assert load_job(db, job_id).status == status


def test_cancel_foreign_or_unknown_job_is_404(api, other_api, db):
    """Another user's job cannot be cancelled, nor seen to exist."""
    theirs = other_api.post("/api/v1/jobs", json={"sales_page_url": URL}).get_json()

    assert api.post(f"/api/v1/jobs/{theirs['id']}/cancel").status_code == 404
    assert api.post(f"/api/v1/jobs/{uuid.uuid4()}/cancel").status_code == 404
    assert load_job(db, theirs["id"]).status == JobStatus.QUEUED


def test_broker_down_gives_503_with_retry_after_and_keeps_the_job_queued(
    make_settings, database_url, s3_settings, db, make_key, redis_url, scrape_queue
):
    """With Redis unreachable the job is saved `queued`, the answer is 503 + Retry-After, and a replay
    with the same Idempotency-Key once Redis is back returns that job and enqueues it."""
    from backend import create_app  # noqa: PLC0415
    from tests.backend.api.conftest import shutdown_app  # noqa: PLC0415

    key = make_key("owner@example.test")
    headers = {"Authorization": f"Bearer {key.plaintext}", "Idempotency-Key": "retry-me"}
    down = create_app(
        make_settings(
            database_url=database_url, redis_url=f"redis://127.0.0.1:{free_port()}/0", **s3_settings
        )
    )
    try:
        response = down.test_client().post("/api/v1/jobs", json={"sales_page_url": URL}, headers=headers)
    finally:
        shutdown_app(down)

    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert int(response.headers["Retry-After"]) > 0
    job_id = response.get_json()["job_id"]
    assert load_job(db, job_id).status == JobStatus.QUEUED

    up = create_app(make_settings(database_url=database_url, redis_url=redis_url, **s3_settings))
    try:
        replay = up.test_client().post("/api/v1/jobs", json={"sales_page_url": URL}, headers=headers)
    finally:
        shutdown_app(up)
    assert replay.status_code == 200
    assert replay.get_json()["id"] == job_id
    assert scrape_queue.messages() == [{"task": "scraper.run_job", "args": [job_id]}]


def test_list_jobs_treats_blank_parameters_as_absent(api):
    """`?campaign_id=&status=&cursor=` (an unfilled URL template) lists everything."""
    job = api.post("/api/v1/jobs", json={"sales_page_url": URL}).get_json()

    response = api.get("/api/v1/jobs?campaign_id=&status=&limit=&cursor=")

    assert response.status_code == 200
    assert [item["id"] for item in response.get_json()["items"]] == [job["id"]]


def test_absurdly_nested_json_is_400(api):
    """JSON nested deeper than the parser allows is a 400, not a crash."""
    response = api.post("/api/v1/jobs", data="[" * 5000 + "]" * 5000, content_type="application/json")

    assert response.status_code == 400


# --- fairness between keys: a cap on outstanding jobs, and priority by the owner's backlog ---


def test_a_user_at_max_outstanding_jobs_gets_429_until_one_ends(make_app, user_key, other_user_key):
    """Past MAX_OUTSTANDING_JOBS a submit is 429 problem+json saying so; a replay, another user and a cancel still work."""
    application = make_app(max_outstanding_jobs=2)
    api, other = api_for(application, user_key), api_for(application, other_user_key)
    first = api.post("/api/v1/jobs", json={"sales_page_url": URL}, headers={"Idempotency-Key": "k1"})
    assert first.status_code == 202
    assert api.post("/api/v1/jobs", json={"sales_page_url": URL}).status_code == 202

    refused = api.post("/api/v1/jobs", json={"sales_page_url": URL})

    assert refused.status_code == 429
    assert refused.mimetype == "application/problem+json"
    problem = refused.get_json()
    assert problem["type"].endswith("too-many-outstanding-jobs")
    assert (problem["outstanding"], problem["limit"]) == (2, 2)
    assert "the limit is 2" in problem["detail"]
    assert int(refused.headers["Retry-After"]) > 0
    replay = api.post("/api/v1/jobs", json={"sales_page_url": URL}, headers={"Idempotency-Key": "k1"})
    assert (replay.status_code, replay.get_json()["id"]) == (200, first.get_json()["id"])
    assert other.post("/api/v1/jobs", json={"sales_page_url": URL}).status_code == 202
    assert api.post(f"/api/v1/jobs/{first.get_json()['id']}/cancel").status_code == 202
    assert api.post("/api/v1/jobs", json={"sales_page_url": URL}).status_code == 202


def test_a_job_is_queued_behind_fewer_jobs_the_fewer_its_owner_has_waiting(api, other_api, scrape_queue):
    """A's 1st, 2nd and later jobs go to priority 3, 6, 9; B's first to 3, so a worker takes it right after A's first."""
    a_jobs = [api.post("/api/v1/jobs", json={"sales_page_url": URL}).get_json()["id"] for _ in range(4)]
    b_job = other_api.post("/api/v1/jobs", json={"sales_page_url": URL}).get_json()["id"]

    waiting = scrape_queue.prioritized()

    assert [(m["args"][0], m["priority"]) for m in waiting] == [
        (a_jobs[0], 3),
        (b_job, 3),
        (a_jobs[1], 6),
        (a_jobs[2], 9),
        (a_jobs[3], 9),
    ]
