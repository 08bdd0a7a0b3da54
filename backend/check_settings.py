"""`python -m backend.check_settings [--prefix NAME]`: refuse settings that can never work, before anything starts.

Every setting is parsed and checked as the processes will (DATABASE_URL must be a database
URL, a rediss:// broker must verify certificates, production needs its services), without
touching the network. Exit 0 if they can work; otherwise one line naming the variable and
exit 78 (EX_CONFIG): a restart cannot fix it, so the platform should not loop on it.
"""

from __future__ import annotations

import argparse
import sys

from backend.errors import EX_CONFIG, ConfigError
from backend.settings import Settings, load_settings


def checked_settings() -> Settings:
    """The settings, with the broker configuration built once to check it; ConfigError names what is wrong."""
    from worker.config import make_celery  # noqa: PLC0415 - only this check needs Celery

    settings = load_settings()
    make_celery(settings).close()
    return settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m backend.check_settings", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--prefix", default="settings", help="the name the error line starts with")
    args = parser.parse_args(argv)
    try:
        checked_settings()
    except ConfigError as exc:
        print(f"{args.prefix}: configuration error: {exc}", file=sys.stderr, flush=True)  # noqa: T201 - the one line
        return EX_CONFIG
    return 0


if __name__ == "__main__":
    sys.exit(main())
