"""queue_backlog reads the waiting messages of a queue from the real broker (the sweep's backlog check)."""

from __future__ import annotations

import json
import uuid

import redis

from backend.broker import RUN_JOB_TASK, held_job_ids, queue_backlog
from worker.config import make_celery


def test_queue_backlog_counts_waiting_messages_on_redis(make_settings, redis_url):
    """An empty queue is 0; three sent messages are 3."""
    queue = f"backlog-{uuid.uuid4().hex[:8]}"
    app = make_celery(make_settings(redis_url=redis_url, celery_queue=queue))
    try:
        assert queue_backlog(app, queue) == 0
        for index in range(3):
            app.send_task("scraper.nothing", args=[index])
        assert queue_backlog(app, queue) == 3
    finally:
        client = redis.Redis.from_url(redis_url)
        client.delete(queue)
        client.close()


def test_queue_backlog_is_zero_when_the_broker_is_unreachable(make_settings):
    """An unknown depth never stops the sweep: it reads as 0 (the enqueue then reports the dead broker)."""
    app = make_celery(make_settings(redis_url="redis://127.0.0.1:1/0"))
    assert queue_backlog(app, "scrape") == 0


def test_held_job_ids_lists_waiting_and_delivered_run_job_messages(make_settings, redis_url):
    """run_job messages waiting in the queue and kombu's unacked entries are held; other tasks are not jobs."""
    queue = f"held-{uuid.uuid4().hex[:8]}"
    app = make_celery(make_settings(redis_url=redis_url, celery_queue=queue))
    client = redis.Redis.from_url(redis_url)
    waiting, delivered, tag = uuid.uuid4(), uuid.uuid4(), uuid.uuid4().hex
    try:
        assert held_job_ids(app, queue) == set()
        app.send_task(RUN_JOB_TASK, args=[str(waiting)])
        app.send_task("scraper.deliver_callback", args=[str(uuid.uuid4())])
        # A worker that took a message keeps it in kombu's unacked hash as [message, exchange, routing key].
        app.send_task(RUN_JOB_TASK, args=[str(delivered)])
        raw = client.rpop(queue)
        client.hset("unacked", tag, json.dumps([json.loads(raw), "", queue]))
        held = held_job_ids(app, queue)
        assert held is not None
        assert {waiting, delivered} <= held
    finally:
        client.delete(queue)
        client.hdel("unacked", tag)
        client.close()


def test_held_job_ids_is_unknown_without_redis(make_settings):
    """The filesystem broker and an unreachable Redis cannot be listed: None, so the sweep falls back."""
    assert held_job_ids(make_celery(make_settings()), "scrape") is None
    assert held_job_ids(make_celery(make_settings(redis_url="redis://127.0.0.1:1/0")), "scrape") is None
