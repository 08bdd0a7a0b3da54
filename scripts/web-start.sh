#!/usr/bin/env bash
# Web container start: run the migrations (retried, under the advisory lock) and stop
# if they fail; then replace this shell with gunicorn serving 'backend:create_app()'.
# MIGRATE_ON_START=false leaves migrations to a separate release step.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Exit codes: 78 for a setting that can never work (one line naming it, before anything
# else), 1 when the migrations failed, 3 when gunicorn's workers could not boot.
python -m backend.check_settings --prefix web || exit $?

if [[ "${MIGRATE_ON_START:-true}" == "true" ]]; then
    echo "web-start: running migrations"
    status=0
    python -m backend.migrate --attempts "${MIGRATE_ATTEMPTS:-8}" || status=$?
    if [[ "$status" -ne 0 ]]; then
        echo "web-start: migrations failed; not starting the API" >&2
        exit "$status"
    fi
else
    echo "web-start: MIGRATE_ON_START=${MIGRATE_ON_START}; skipping migrations"
fi

# gunicorn workers share HTTP latency figures through prometheus_client's multiprocess
# files; a fresh directory per start, so a previous run's numbers never leak in.
export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-/tmp/prometheus-multiproc}"
rm -rf "${PROMETHEUS_MULTIPROC_DIR:?}"
mkdir -p "$PROMETHEUS_MULTIPROC_DIR"

echo "web-start: starting gunicorn on port ${PORT:-8000}"
exec gunicorn 'backend:create_app()' --config gunicorn.conf.py
