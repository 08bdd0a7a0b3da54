"""/health pings the database, the broker and the storage and reads the schema (503 with detail); /health/live touches nothing.

`schema` is `ok`, `behind` (the database is not at the code's migration head: 503, the
API would fail on missing columns), `ahead` (a newer deploy has migrated: reported, still
200 so a rolling deploy keeps serving), or `unknown` when the database did not answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeoutError

from flask import Blueprint, Response, jsonify
from sqlalchemy import text

from backend.api import services
from backend.api.declare import Reply, declare, ok
from backend.broker import ping_broker
from backend.db import Database
from backend.logging import get_logger
from backend.schema_state import SERVABLE, schema_state
from backend.shapes import Health, Live

logger = get_logger(__name__)

bp = Blueprint("health", __name__)

# The whole readiness check answers within this, even if a dependency hangs.
CHECK_TIMEOUT_SECONDS = 5.0
BROKER_PING_TIMEOUT_SECONDS = 2.0
DB_STATEMENT_TIMEOUT_MS = 2000


def _check_database(db: Database) -> str:
    """Ping the database and return its schema state, in one transaction on one connection."""
    with db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            # SET LOCAL ends with this transaction, so the pooled connection keeps its defaults.
            connection.execute(text(f"SET LOCAL statement_timeout = {DB_STATEMENT_TIMEOUT_MS}"))
        connection.execute(text("SELECT 1"))
        return schema_state(connection)


def _run_checks(checks: dict[str, Callable[[], object]]) -> dict[str, object]:
    """Run every check at once; each answers what it returned (or "ok"), or "error: <ErrorType>", within the deadline."""
    executor = ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="health")
    futures = {name: executor.submit(check) for name, check in checks.items()}
    deadline = time.monotonic() + CHECK_TIMEOUT_SECONDS
    results: dict[str, object] = {}
    for name, future in futures.items():
        try:
            results[name] = future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeoutError:
            results[name] = "error: timeout"
        except Exception as exc:  # any failure means "not ready", reported by type only
            results[name] = f"error: {type(exc).__name__}"
    # A hung check must not hold the response; its thread ends on its own timeout.
    executor.shutdown(wait=False, cancel_futures=True)
    return results


def _ok(check: Callable[[], None]) -> Callable[[], str]:
    """A check that answers "ok" when it does not raise."""

    def run() -> str:
        check()
        return "ok"

    return run


@bp.get("/health")
@declare(
    "readiness",
    "Readiness: database, broker, storage, and the database schema at the code's head.",
    ok(200, Health, "Ready."),
    Reply(503, "A dependency failed.", model=Health),
)
def readiness() -> Response:
    app = services()
    results = _run_checks(
        {
            "database": lambda: _check_database(app.db),
            "broker": _ok(lambda: ping_broker(app.celery, timeout=BROKER_PING_TIMEOUT_SECONDS)),
            "storage": _ok(app.store.ping),
        }
    )
    schema = results.pop("database")
    if isinstance(schema, str) and schema.startswith("error: "):
        results = {"database": schema, **results, "schema": "unknown"}
    else:
        results = {"database": "ok", **results, "schema": schema}
    healthy = results["schema"] in SERVABLE and all(
        value == "ok" for name, value in results.items() if name != "schema"
    )
    if not healthy:
        logger.warning("health.not_ready", **results)
    answer = Health(status="ok" if healthy else "unavailable", **results)
    response = jsonify(answer.model_dump(mode="json"))
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/health/live")
@declare("liveness", "Liveness: touches nothing.", ok(200, Live, "Alive."))
def liveness() -> Response:
    response = jsonify(Live(status="ok").model_dump(mode="json"))
    response.headers["Cache-Control"] = "no-store"
    return response
