"""capture_log(name, formatter): what one logger writes through one of backend.logging's formatters."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Iterator
from typing import Any


class Captured:
    """The lines written so far, as text or as parsed JSON entries."""

    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    def lines(self) -> list[str]:
        return self.stream.getvalue().splitlines()

    def entries(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines()]


@contextlib.contextmanager
def capture_log(name: str, formatter: logging.Formatter) -> Iterator[Captured]:
    """Route logger `name` (INFO and up, not propagated) to a string through `formatter` inside the block."""
    logger = logging.getLogger(name)
    saved = logger.handlers[:], logger.level, logger.propagate
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    logger.handlers[:], logger.propagate = [handler], False
    logger.setLevel(logging.INFO)
    try:
        yield Captured(stream)
    finally:
        logger.handlers[:], logger.level, logger.propagate = saved
