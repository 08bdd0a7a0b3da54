"""/api/v1/analyze: run the pipeline on one page under a short deadline and return the ranking; nothing saved."""

from __future__ import annotations

import logging
import time

from flask import Blueprint, Response, jsonify

from backend.api import services
from backend.api.problems import json_body
from backend.api.schemas import AnalyzeRequest
from backend.api.security import require_api_key
from backend.errors import FetchTimeoutError, JobCancelledError, JobFailedError
from backend.settings import Settings
from backend.shapes import analysis_to_dict

logger = logging.getLogger(__name__)

bp = Blueprint("analyze", __name__)


def _bounded(settings: Settings) -> Settings:
    """The settings with every fetch limited by the preview's own, shorter deadline."""
    return settings.model_copy(
        update={"scraper_timeout": min(settings.scraper_timeout, settings.analyze_timeout)}
    )


@bp.post("/analyze")
@require_api_key
def analyze() -> Response:
    body = json_body(AnalyzeRequest)
    settings = services().settings
    # Deferred: the API process loads the pipeline (numpy, Pillow, lxml) only when a preview is asked for.
    from worker.pipeline import run_pipeline  # noqa: PLC0415

    deadline = time.monotonic() + settings.analyze_timeout
    try:
        result = run_pipeline(
            body.url,
            _bounded(settings),
            max_images=body.max_images,
            should_stop=lambda: time.monotonic() > deadline,
        )
    except JobCancelledError:
        raise FetchTimeoutError(
            f"The preview did not finish within {settings.analyze_timeout:g} s."
        ) from None
    except JobFailedError as exc:
        logger.info("analyze.failed code=%s", exc.code)
        raise
    logger.info("analyze.done kept=%d skipped=%d", len(result.kept), len(result.skipped))
    return jsonify(analysis_to_dict(body.url, result))
