"""register(app): blueprints, error handlers, rate limits and the per-request session, in one place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import Flask, current_app, g
from sqlalchemy import Connection, event, text

from backend.shapes import API_PREFIX

if TYPE_CHECKING:
    from celery import Celery
    from sqlalchemy.orm import Session

    from backend.db import Database
    from backend.settings import Settings
    from backend.storage import ImageStore


@dataclass(frozen=True)
class AppServices:
    """What one app holds for its whole life: settings, one engine, one store, one Celery app."""

    settings: Settings
    db: Database
    store: ImageStore
    celery: Celery


def services() -> AppServices:
    """The current app's services."""
    return current_app.extensions["scraper"]


def db_session() -> Session:
    """The request's session, opened on first use and closed when the app context ends.

    Each of its transactions on Postgres starts with `SET LOCAL statement_timeout`
    (API_STATEMENT_TIMEOUT): a statement stuck behind a lock or on a struggling server is
    cancelled and the request answers 503, instead of holding the client and a thread.
    """
    if "db_session" not in g:
        session = services().db.session_factory()
        event.listen(session, "after_begin", _bound_statements)
        g.db_session = session
    return g.db_session


def _bound_statements(_session: Session, _transaction: object, connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        milliseconds = int(services().settings.api_statement_timeout * 1000)
        connection.execute(text(f"SET LOCAL statement_timeout = {milliseconds}"))


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        # Closing rolls back whatever the request did not commit.
        session.close()


def register(app: Flask) -> None:
    """Attach every blueprint and the problem+json error handlers to `app`."""
    from backend.api import analyze, campaigns, files, headers, health, jobs, openapi, problems  # noqa: PLC0415
    from backend.api.ratelimit import init_rate_limits  # noqa: PLC0415

    app.teardown_appcontext(_close_session)
    problems.register_handlers(app)
    headers.register(app, app.extensions["scraper"].settings)
    for blueprint in (jobs.bp, campaigns.bp, analyze.bp, openapi.bp):
        app.register_blueprint(blueprint, url_prefix=API_PREFIX)
    app.register_blueprint(health.bp)
    app.register_blueprint(files.bp)
    _register_observability(app)
    init_rate_limits(app, app.extensions["scraper"].settings)


def _register_observability(app: Flask) -> None:
    """Request ids, latency, /metrics (backend/api/metrics.py) and the account routes."""
    from backend.api import account, metrics  # noqa: PLC0415

    metrics.register(app)
    app.register_blueprint(account.bp, url_prefix=API_PREFIX)
