"""Gunicorn settings for the API, read from the environment: bind, workers, threads and timeouts."""

from __future__ import annotations

import gc
import os
import sys
from typing import Any


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


# Railway/Heroku hand the port in $PORT; the container listens on every interface.
bind = f"0.0.0.0:{_int('PORT', 8000)}"
# Processes x threads: threads cover requests waiting on Postgres, Redis or R2;
# processes cover CPU (JSON, the /analyze preview). WEB_CONCURRENCY is the platform convention.
workers = _int("WEB_CONCURRENCY", 2)
threads = _int("GUNICORN_THREADS", 4)
worker_class = "gthread"
# /analyze is bounded by ANALYZE_TIMEOUT (20 s by default); a request older than this is stuck.
timeout = _int("GUNICORN_TIMEOUT", 60)
# On SIGTERM (deploy, scale-in) in-flight requests get this long to finish.
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 25)
keepalive = 5
# Recycle workers now and then, so a slow leak cannot grow forever; jitter avoids a herd.
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = 200
# No preload: each worker builds its own engine and clients after the fork. The master only
# imports the app's modules (on_starting), so workers fork with them already loaded.
preload_app = False
# The platform's proxy terminates TLS; trust its X-Forwarded-* headers.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")
# The app writes one structured `http.request` line per request (route template, status,
# duration, request id), so gunicorn's own access log stays off. Gunicorn's error log is
# handed to the root logger, which configure_logging formats (JSON in production).
# No runtime control socket: nothing uses it, and it would need a writable $HOME.
control_socket_disable = True
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"level": "INFO", "handlers": []},
    "loggers": {
        "gunicorn.error": {"level": loglevel.upper(), "handlers": [], "propagate": True},
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": True},
    },
}


def _configure_logging() -> None:
    from backend.check_settings import checked_settings  # noqa: PLC0415 - gunicorn imports this file before the app
    from backend.errors import EX_CONFIG, ConfigError  # noqa: PLC0415
    from backend.logging import configure_logging  # noqa: PLC0415

    try:
        # The broker settings are checked too (ssl_cert_reqs=none is refused), so a bad one
        # stops the master with one line instead of every worker failing to boot (exit 3).
        configure_logging(checked_settings())
    except ConfigError as exc:
        # Refuse to start with one clear line instead of a traceback per worker.
        print(f"web: configuration error: {exc}", file=sys.stderr, flush=True)  # noqa: T201
        sys.exit(EX_CONFIG)


def on_starting(_server: Any) -> None:
    """Master: structured logs before anything else is said; the app's code imported once for every worker."""
    _configure_logging()
    from backend import import_app_code  # noqa: PLC0415

    import_app_code()


def when_ready(server: Any) -> None:
    """Master, once bound: log the web processes' worst-case Postgres connections and check them against the server."""
    from backend.connection_budget import announce, web_budget  # noqa: PLC0415
    from backend.settings import get_settings  # noqa: PLC0415

    settings = get_settings()
    announce(settings, web_budget(settings, server.cfg.workers, server.cfg.threads))


def pre_fork(_server: Any, _worker: Any) -> None:
    """Master, before each fork: move everything it holds out of the collector's reach (gc.freeze).

    A collection in a worker would otherwise write the GC header of every inherited object, so
    each page shared with the master gets copied, and the last collection at the worker's exit
    alone took about a second of the shutdown. Frozen objects are never collected; the master's
    are long-lived modules and settings, so nothing it would have freed is kept.
    """
    gc.freeze()


def post_worker_init(_worker: Any) -> None:
    """Each worker process: the same logging (the fork copied handlers, this re-reads settings)."""
    _configure_logging()


def child_exit(_server: Any, worker: Any) -> None:
    """Drop a dead worker's live gauges from the shared prometheus_client files."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess  # noqa: PLC0415

        multiprocess.mark_process_dead(worker.pid)
