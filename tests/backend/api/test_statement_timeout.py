"""A database that does not answer a statement: the API answers 503 after API_STATEMENT_TIMEOUT, not whenever."""

from __future__ import annotations

import threading

from sqlalchemy import text

from backend.models import Job


def test_submit_answers_503_while_the_jobs_table_is_locked(api, db):
    """POST /api/v1/jobs behind an exclusive lock on jobs: 503 problem+json once the statement timeout strikes."""
    answers: list[object] = []
    with db.engine.connect() as locker:
        locker.execute(text(f"LOCK TABLE {Job.__tablename__} IN ACCESS EXCLUSIVE MODE"))
        request = threading.Thread(
            target=lambda: answers.append(
                api.post("/api/v1/jobs", json={"sales_page_url": "https://shop.test/p"})
            ),
            daemon=True,
        )
        request.start()
        request.join(timeout=20)  # the default API_STATEMENT_TIMEOUT is 5 s
        hung = request.is_alive()
        locker.rollback()
    request.join(timeout=20)
    assert not hung, "the request waited for the lock instead of timing out"
    (response,) = answers
    assert response.status_code == 503
    assert response.headers["Retry-After"]
    assert response.get_json()["title"]
