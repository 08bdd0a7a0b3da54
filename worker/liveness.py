"""`python -m worker.liveness`: exit 0 while the worker's consumer loop keeps touching its heartbeat file, 1 when stale.

The file is touched by a consumer bootstep (worker/config.py) from the consumer's event
loop, so a worker process that is alive but no longer consuming, for example after a
broker reconnect that hung, stops refreshing it. `celery inspect ping` would still answer.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from backend.errors import ConfigError
from backend.settings import load_settings


def touch_heartbeat(path: Path) -> None:
    """Set the heartbeat file's modification time to now, creating it if needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    os.utime(path)


def heartbeat_age(path: Path) -> float | None:
    """Seconds since the heartbeat file was touched, or None if it does not exist."""
    try:
        return max(0.0, time.time() - path.stat().st_mtime)
    except FileNotFoundError:
        return None


def main(argv: Sequence[str] | None = None) -> int:
    """Print one line about the heartbeat and return 0 when it is fresh, 1 otherwise."""
    parser = argparse.ArgumentParser(prog="python -m worker.liveness", description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, help="heartbeat file (default: WORKER_HEARTBEAT_FILE)")
    parser.add_argument("--max-age", type=float, help="seconds (default: WORKER_HEARTBEAT_MAX_AGE)")
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"liveness: configuration error: {exc}", file=sys.stderr)  # noqa: T201 - the command's output
        return 1
    path = args.file or settings.heartbeat_path
    max_age = args.max_age or settings.worker_heartbeat_max_age
    age = heartbeat_age(path)
    if age is None:
        print(f"liveness: stale: no heartbeat file at {path}")  # noqa: T201 - the command's output
        return 1
    if age > max_age:
        print(f"liveness: stale: heartbeat {age:.1f}s old (limit {max_age:.0f}s) at {path}")  # noqa: T201 - the command's output
        return 1
    print(f"liveness: ok: heartbeat {age:.1f}s old")  # noqa: T201 - the command's output
    return 0


if __name__ == "__main__":
    sys.exit(main())
