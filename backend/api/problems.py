"""problem+json (RFC 9457) for every error: domain errors and HTTP errors become a status here.

Every error body is `{type, title, status, detail}` plus, for validation errors,
`errors: [{field, message}]` (one entry per bad field) and, for failed analyses,
`code`. `type` is a non-dereferenceable tag URI naming the problem; plain HTTP
errors use `about:blank` with the status phrase as title, as RFC 9457 asks.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, TypeVar

from flask import Flask, Response, current_app, jsonify, request
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import BadRequest, HTTPException

from backend.errors import ConflictError, JobFailedError, NotFoundError, TransientError
from backend.logging import get_logger
from backend.safe_commit import is_transient_db_error
from backend.shapes import Problem

logger = get_logger(__name__)

PROBLEM_MIME = "application/problem+json"
TYPE_PREFIX = "tag:product-image-scraper,2025:problem:"
# Long enough for a broker or database restart, short enough for an interactive client.
RETRY_AFTER_SECONDS = 5

Model = TypeVar("Model", bound=BaseModel)


class ApiProblem(Exception):  # noqa: N818 - it is a response, not a failure of ours
    """An error answer the API gives on purpose; raise it from routes or helpers."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        slug: str | None = None,
        title: str | None = None,
        headers: dict[str, str] | None = None,
        **members: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.slug = slug
        self.title = title or HTTPStatus(status).phrase
        self.headers = headers or {}
        self.members = members

    def to_response(self) -> Response:
        body = Problem(
            type=TYPE_PREFIX + self.slug if self.slug else "about:blank",
            title=self.title,
            status=self.status,
            detail=self.detail,
            **self.members,
        )
        # exclude_unset: `errors`, `code` and any other member appear only when given.
        response = jsonify(body.model_dump(mode="json", exclude_unset=True))
        response.status_code = self.status
        response.mimetype = PROBLEM_MIME
        response.headers.update(self.headers)
        return response


def field_errors_problem(errors: list[dict[str, str]]) -> ApiProblem:
    """422 with one `{field, message}` entry per bad field."""
    return ApiProblem(
        422,
        "The request has invalid fields; see `errors`.",
        slug="validation-error",
        title="Validation failed",
        errors=errors,
    )


def from_validation_error(exc: ValidationError) -> ApiProblem:
    """Turn pydantic's errors into one entry per field, first message wins."""
    by_field: dict[str, str] = {}
    for error in exc.errors(include_url=False, include_input=False):
        field = ".".join(str(part) for part in error["loc"]) or "body"
        by_field.setdefault(field, error["msg"].removeprefix("Value error, "))
    return field_errors_problem([{"field": field, "message": message} for field, message in by_field.items()])


def unavailable(detail: str) -> ApiProblem:
    """503 with Retry-After: a dependency is down; the same request may succeed shortly."""
    return ApiProblem(
        503,
        detail,
        slug="service-unavailable",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def _refuse_truncated_body() -> None:
    """413 for a chunked body that reached MAX_CONTENT_LENGTH (werkzeug stops reading there silently)."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit is None or request.content_length is not None:
        return  # a declared length over the limit is refused by werkzeug before this
    if len(request.get_data(cache=True)) >= limit:
        raise ApiProblem(413, f"The request body is larger than {limit} bytes.")


def json_body(model: type[Model]) -> Model:
    """The request body validated as `model`: 415 if not JSON, 400 if malformed, 422 if invalid."""
    if not request.is_json:
        raise ApiProblem(
            415,
            "The request body must be JSON (Content-Type: application/json).",
            headers={"Accept-Post": "application/json"},
        )
    _refuse_truncated_body()
    try:
        payload = request.get_json()
    except (BadRequest, RecursionError):  # RecursionError: absurdly deep nesting
        raise ApiProblem(400, "The request body is not valid JSON.", slug="malformed-json") from None
    if not isinstance(payload, dict):
        raise field_errors_problem([{"field": "body", "message": "must be a JSON object"}])
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise from_validation_error(exc) from None


def query_args(model: type[Model]) -> Model:
    """The query string validated as `model` (422 on a bad value, naming the parameter)."""
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as exc:
        raise from_validation_error(exc) from None


def _http_error(exc: HTTPException) -> Response:
    status = exc.code or 500
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    return ApiProblem(status, exc.description or HTTPStatus(status).phrase, headers=headers).to_response()


def _not_found(exc: NotFoundError) -> Response:
    return ApiProblem(404, str(exc) or "Not found.").to_response()


def _conflict(exc: ConflictError) -> Response:
    return ApiProblem(409, str(exc), slug="conflict").to_response()


def _job_failed(exc: JobFailedError) -> Response:
    return ApiProblem(
        422, exc.message, slug=exc.code.replace("_", "-"), title="The URL cannot be processed", code=exc.code
    ).to_response()


def _transient(exc: TransientError) -> Response:
    logger.warning("api.dependency_unavailable", error=type(exc).__name__)
    return unavailable("A backing service is unavailable; retry shortly.").to_response()


def _database_error(exc: DBAPIError) -> Response:
    if isinstance(exc, OperationalError) or is_transient_db_error(exc):
        logger.warning("api.database_unavailable", error=type(exc.orig).__name__)
        return unavailable("The database is unavailable; retry shortly.").to_response()
    return _internal(exc)


def _pool_timeout(_exc: PoolTimeoutError) -> Response:
    logger.warning("api.database_pool_exhausted")
    return unavailable("The database is busy; retry shortly.").to_response()


def _internal(exc: Exception) -> Response:
    logger.error("api.unhandled_error", path=request.path, exc_info=exc)
    return ApiProblem(500, "An unexpected error occurred.").to_response()


def register_handlers(app: Flask) -> None:
    """Every error the app can raise answers problem+json; nothing internal leaks."""
    app.register_error_handler(ApiProblem, lambda exc: exc.to_response())
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(NotFoundError, _not_found)
    app.register_error_handler(ConflictError, _conflict)
    app.register_error_handler(JobFailedError, _job_failed)
    app.register_error_handler(TransientError, _transient)
    app.register_error_handler(DBAPIError, _database_error)
    app.register_error_handler(PoolTimeoutError, _pool_timeout)
    app.register_error_handler(Exception, _internal)
