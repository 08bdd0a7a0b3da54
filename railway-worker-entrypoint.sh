#!/usr/bin/env bash
# Worker container entrypoint: refuse to start on a missing or bad setting (one line),
# wait for Postgres and the broker with Python checks and capped, jittered backoff
# (no psql, no redis-cli in the image), then replace this shell with the Celery worker.
#
#   CELERY_CONCURRENCY           worker processes (default 2)
#   CELERY_MAX_TASKS_PER_CHILD   recycle a process after this many tasks (default 200)
#   CELERY_EMBED_BEAT            "true" runs the periodic sweeps in this worker (-B);
#                                only for a single-worker deployment, else run `celery -A worker beat`
#   WAIT_TIMEOUT_SECONDS         how long to wait for Postgres and the broker (default 120)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

CELERY_CONCURRENCY="${CELERY_CONCURRENCY:-2}"
CELERY_MAX_TASKS_PER_CHILD="${CELERY_MAX_TASKS_PER_CHILD:-200}"
WAIT_TIMEOUT_SECONDS="${WAIT_TIMEOUT_SECONDS:-120}"
export CELERY_CONCURRENCY

require_positive_int() {
    local name="$1"
    if [[ ! "${!name}" =~ ^[1-9][0-9]*$ ]]; then
        echo "worker: $name must be a positive integer, got '${!name}'" >&2
        exit 78
    fi
}
require_positive_int CELERY_CONCURRENCY
require_positive_int CELERY_MAX_TASKS_PER_CHILD
require_positive_int WAIT_TIMEOUT_SECONDS

# Exit codes: 78 (EX_CONFIG) for a bad setting, 69 (EX_UNAVAILABLE) when a dependency never came up.
python - "$WAIT_TIMEOUT_SECONDS" <<'PY'
"""Check the settings, then wait for Postgres and the broker, using the worker's own code paths."""

import random
import sys
import time

from backend.errors import EX_CONFIG, EX_UNAVAILABLE, ConfigError
from backend.settings import load_settings
from worker.config import make_celery

try:
    settings = load_settings()
    celery_app = make_celery(settings)  # refuses a broker URL that can never work (ssl_cert_reqs=none)
except ConfigError as exc:
    print(f"worker: configuration error: {exc}", file=sys.stderr, flush=True)
    sys.exit(EX_CONFIG)

# Imported only once the settings are known good.
from sqlalchemy import text

from backend.broker import ping_broker
from backend.db import make_engine

deadline = time.monotonic() + float(sys.argv[1])


def check_database():
    engine = make_engine(settings)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    finally:
        engine.dispose()


def check_broker():
    ping_broker(celery_app, timeout=5.0)


def wait_for(name, check):
    delay, attempt = 0.5, 0
    while True:
        attempt += 1
        try:
            check()
        except Exception as exc:  # any failure means "not up yet"
            reason = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
            if time.monotonic() + delay > deadline:
                print(f"worker: gave up waiting for {name} after {attempt} attempts ({reason})", file=sys.stderr, flush=True)
                sys.exit(EX_UNAVAILABLE)
            print(f"worker: waiting for {name} (attempt {attempt}, retry in {delay:.1f}s): {reason}", flush=True)
            time.sleep(delay + random.uniform(0, delay / 2))
            delay = min(delay * 2, 10.0)
        else:
            print(f"worker: {name} is up", flush=True)
            return


wait_for("postgres", check_database)
wait_for("broker", check_broker)
PY

args=(
    worker
    --loglevel "${LOG_LEVEL:-INFO}"
    --concurrency "$CELERY_CONCURRENCY"
    --max-tasks-per-child "$CELERY_MAX_TASKS_PER_CHILD"
    -Q "${CELERY_QUEUE:-scrape}.analyze,${CELERY_QUEUE:-scrape}"  # previews first (settings.analyze_queue)
    --hostname "worker@%h"
)
if [[ "${CELERY_EMBED_BEAT:-false}" == "true" ]]; then
    args+=(-B --schedule /tmp/celerybeat-schedule)
fi

echo "worker: starting celery (concurrency ${CELERY_CONCURRENCY}, max tasks per child ${CELERY_MAX_TASKS_PER_CHILD})"
exec celery -A worker "${args[@]}"
