"""@declare: each route states its request, query, header and response models next to its code.

backend.api.openapi builds the OpenAPI document by walking the app's url_map and reading
these declarations, so the document lists exactly the served routes with the models they
validate and send; tests/backend/api/test_openapi.py fails for a route without one. Whether a
route needs a key is read from @require_api_key itself, not declared a second time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter

View = TypeVar("View", bound=Callable[..., Any])

OPERATION_ATTR = "openapi_operation"
KEY_REQUIRED_ATTR = "api_key_required"


@dataclass(frozen=True)
class Reply:
    """One documented answer: a JSON `model`, a problem+json error, or another media type."""

    status: int
    description: str
    model: type[BaseModel] | None = None
    problem: bool = False
    media_type: str | None = None
    retry_after: bool = False


def ok(status: int, model: type[BaseModel], description: str) -> Reply:
    return Reply(status, description, model=model)


def problem(status: int, description: str, *, retry_after: bool = False) -> Reply:
    return Reply(status, description, problem=True, retry_after=retry_after)


def empty(status: int, description: str) -> Reply:
    return Reply(status, description)


def other(status: int, description: str, media_type: str) -> Reply:
    """A body that is not described field by field (Prometheus text, this document itself)."""
    return Reply(status, description, media_type=media_type)


@dataclass(frozen=True)
class Header:
    """A request header the route reads, validated by `adapter` (whose JSON schema is documented)."""

    name: str
    adapter: TypeAdapter[Any]
    description: str


@dataclass(frozen=True)
class Operation:
    operation_id: str
    summary: str
    replies: tuple[Reply, ...]
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    headers: tuple[Header, ...] = ()
    security: str | None = None


def declare(
    operation_id: str,
    summary: str,
    *replies: Reply,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    headers: tuple[Header, ...] = (),
    security: str | None = None,
) -> Callable[[View], View]:
    """Attach the route's OpenAPI operation to the view; put it right under `@bp.get/post/…`.

    `security` names the scheme of a route that checks a credential of its own rather than an
    API key (/metrics: its token); the API key's is read from @require_api_key.
    """
    operation = Operation(
        operation_id, summary, replies, body=body, query=query, headers=headers, security=security
    )

    def attach(view: View) -> View:
        setattr(view, OPERATION_ATTR, operation)
        return view

    return attach


def operation_of(view: Callable[..., Any]) -> Operation | None:
    operation = getattr(view, OPERATION_ATTR, None)
    return operation if isinstance(operation, Operation) else None


def needs_api_key(view: Callable[..., Any]) -> bool:
    return bool(getattr(view, KEY_REQUIRED_ATTR, False))
