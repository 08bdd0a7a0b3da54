"""The Flask app and the data layer both processes share; `create_app` builds the API."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask

    from backend.settings import Settings

# Request bodies are small JSON documents; anything bigger is refused with 413.
MAX_CONTENT_LENGTH = 64 * 1024


def create_app(settings: Settings | None = None) -> Flask:
    """Build the API: one Database, one ImageStore and one Celery app per app, blueprints inside.

    Imports happen here, not at module level, so `import backend` stays cheap for the
    worker and the CLI, which never need Flask.
    """
    from flask import Flask  # noqa: PLC0415 - keep `import backend` free of Flask

    from backend import web  # noqa: PLC0415
    from backend.api import AppServices, register  # noqa: PLC0415
    from backend.db import Database  # noqa: PLC0415
    from backend.settings import get_settings  # noqa: PLC0415
    from backend.storage import make_store  # noqa: PLC0415
    from worker.config import make_celery  # noqa: PLC0415

    settings = settings or get_settings()
    app = Flask(__name__, static_folder=None)
    app.config.update(MAX_CONTENT_LENGTH=MAX_CONTENT_LENGTH, TESTING=settings.app_env == "test")
    app.json.sort_keys = False  # type: ignore[attr-defined] - keep the documented field order
    app.extensions["scraper"] = AppServices(
        settings=settings,
        db=Database(settings),
        store=make_store(settings),
        celery=make_celery(settings),
    )
    app.register_blueprint(web.bp)
    register(app)
    return app
