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
    from werkzeug.middleware.proxy_fix import ProxyFix  # noqa: PLC0415

    from backend import apidocs, web  # noqa: PLC0415
    from backend.api import AppServices, register  # noqa: PLC0415
    from backend.db import Database  # noqa: PLC0415
    from backend.error_reporting import init_error_reporting  # noqa: PLC0415
    from backend.settings import get_settings  # noqa: PLC0415
    from backend.storage import make_store  # noqa: PLC0415
    from worker.config import make_celery  # noqa: PLC0415

    settings = settings or get_settings()
    init_error_reporting(settings, "api")
    app = Flask(__name__, static_folder=None)
    app.config.update(MAX_CONTENT_LENGTH=MAX_CONTENT_LENGTH, TESTING=settings.app_env == "test")
    app.json.sort_keys = False  # type: ignore[attr-defined]  # DefaultJSONProvider's; keep the documented field order
    app.extensions["scraper"] = AppServices(
        settings=settings,
        db=Database(settings),
        store=make_store(settings),
        celery=make_celery(settings),
    )
    if settings.trusted_proxy_hops:
        # Believe X-Forwarded-For only as far as the configured proxies wrote it.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.trusted_proxy_hops)  # type: ignore[method-assign]  # the documented way to wrap a Flask app
    app.register_blueprint(web.bp)
    app.register_blueprint(apidocs.bp)
    register(app)
    return app


def import_app_code() -> None:
    """Import every module create_app uses, building nothing: no engine, no clients, no threads.

    Gunicorn's master calls this before it forks (gunicorn.conf.py), so each worker starts,
    and restarts after max_requests, without importing them again (bench/results.md),
    while create_app itself still runs in every worker after the fork (preload_app stays off).
    """
    import importlib  # noqa: PLC0415
    import pkgutil  # noqa: PLC0415

    from backend import api  # noqa: PLC0415

    for module in pkgutil.walk_packages(api.__path__, f"{api.__name__}."):
        importlib.import_module(module.name)
    for name in (
        "backend.web",
        "backend.apidocs",
        "backend.error_reporting",
        "backend.db",
        "backend.storage",
        "backend.broker",
        "worker.config",
        "worker.liveness",
    ):
        importlib.import_module(name)
