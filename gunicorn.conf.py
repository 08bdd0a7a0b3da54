"""Gunicorn settings for the API, read from the environment: bind, workers, threads and timeouts."""

from __future__ import annotations

import os


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
# No preload: each worker builds its own engine and clients after the fork.
preload_app = False
# The platform's proxy terminates TLS; trust its X-Forwarded-* headers.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "*")
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
