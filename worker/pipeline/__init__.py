"""The scraping pipeline: `run_pipeline` and the stages callers and tests use, exported lazily.

The orchestration is worker.pipeline.run. Names are loaded on first use, so importing a light
module of the package (worker.pipeline.types, worker.pipeline.extract.urls) does not pull in numpy,
Pillow and lxml with the stages.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from worker.pipeline.run import (
        ProgressTracker,
        make_http_session,
        process_candidates,
        rank_image,
        rank_images,
        run_pipeline,
    )

__all__ = [
    "ProgressTracker",
    "make_http_session",
    "process_candidates",
    "rank_image",
    "rank_images",
    "run_pipeline",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        return getattr(importlib.import_module("worker.pipeline.run"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
