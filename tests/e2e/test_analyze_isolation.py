"""Eight hostile /analyze calls in flight do not take the API down (issue 22 §2).

The target trickles its headers (tests/slowserver.py), the API runs under gunicorn with four
threads, the previews run on the Celery worker. While the eight calls are in flight,
/health/live and another key's GET /api/v1/jobs must answer; that they answer is asserted,
not how fast.
"""

from __future__ import annotations

import threading

import pytest
import requests

from backend.auth import issue_api_key
from tests import processes
from tests.e2e.conftest import start_system
from tests.slowserver import slow_server, trickled_header

pytestmark = pytest.mark.e2e

HOSTILE_CALLS = 8


def test_health_and_another_key_answer_while_eight_hostile_previews_are_in_flight(
    make_settings, database_url, redis_url, s3_settings, db, store, new_api_key, tmp_path
):
    settings = make_settings(
        database_url=database_url, redis_url=redis_url, analyze_timeout=15.0, **s3_settings
    )
    with db.session() as session:
        other_key = issue_api_key(session, "bystander@example.test").plaintext
        session.commit()
    system = start_system(settings, tmp_path, new_api_key)
    answers: list[requests.Response] = []
    try:
        with slow_server(lambda _path: trickled_header(1.0, 60)) as hostile:

            def attack() -> None:
                answers.append(
                    requests.post(
                        f"{system.base_url}/api/v1/analyze",
                        json={"url": hostile.url("/p")},
                        headers=system.headers,
                        timeout=60,
                    )
                )

            attackers = [threading.Thread(target=attack) for _ in range(HOSTILE_CALLS)]
            for thread in attackers:
                thread.start()
            # Workers are fetching the hostile page, and every call beyond the waiting slots has its 503.
            processes.wait_until(
                lambda: (
                    len(hostile.connections) >= 1
                    and len(answers) >= HOSTILE_CALLS - settings.analyze_max_waiting
                ),
                timeout=30,
                interval=0.1,
                what="the hostile previews to be in flight",
            )

            live = requests.get(f"{system.base_url}/health/live", timeout=10)
            jobs = requests.get(
                f"{system.base_url}/api/v1/jobs", headers={"Authorization": f"Bearer {other_key}"}, timeout=10
            )

            assert live.status_code == 200
            assert jobs.status_code == 200, jobs.text
            still_waiting = sum(thread.is_alive() for thread in attackers)
            assert still_waiting == settings.analyze_max_waiting  # the check ran while they were in flight
        for thread in attackers:  # the hostile server is gone: the previews end
            thread.join(timeout=60)
    finally:
        system.worker.stop()
        system.api.stop()

    statuses = sorted(answer.status_code for answer in answers)
    assert statuses.count(503) == HOSTILE_CALLS - settings.analyze_max_waiting
    assert all(status in (422, 503, 504) for status in statuses), statuses
