"""`python -m backend.devapi --port N`: the API on Werkzeug's development server, for `make run`.

What `flask --app backend run` does, minus its start-up banner, its red "development
server" warning and a line per request (Werkzeug's and backend.http's, as the web page
polls): the dev server's terminal keeps the lines that matter (the service's own events,
and anything at WARNING or above).
"""

from __future__ import annotations

import argparse
import logging
import sys

from werkzeug.serving import run_simple

from backend import create_app
from backend.logging import configure_logging
from backend.settings import get_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backend.devapi", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    settings = get_settings()
    configure_logging(settings)
    # The banner and the access lines (Werkzeug's and ours, one per request: the web page polls)
    # are INFO; what a request does worth telling (job.submitted, errors) is logged by its route.
    for chatty in ("werkzeug", "backend.http"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    run_simple("127.0.0.1", args.port, create_app(settings), threaded=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
