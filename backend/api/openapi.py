"""GET /api/v1/openapi.json: the OpenAPI 3.1 document, generated from the routes' own declarations.

It walks the app's url_map and reads each view's @declare (backend.api.declare): bodies and
query strings are the pydantic models the route validates with, answers are the models of
backend.shapes that serialize them, and a route with @require_api_key is marked as needing a
key. Nothing is written twice, so the document cannot drift from the code. The document is
public (it holds no user data), like /health.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from werkzeug.routing import Rule

from backend.api.declare import Operation, Reply, declare, needs_api_key, operation_of, other
from backend.shapes import Problem

bp = Blueprint("openapi", __name__)

REF = "#/components/schemas/{model}"
PROBLEM_MIME = "application/problem+json"
PATH_SCHEMAS = {"uuid": {"type": "string", "format": "uuid"}}
# Routes that are not part of the JSON API, by blueprint (or endpoint): HTML for people, and the
# files only the embedded mode serves.
NOT_DOCUMENTED = {"static", "web", "files", "apidocs"}
EXTENSION_KEY = "openapi_document"

COMMON_ERRORS = (
    Reply(401, "Missing, invalid or revoked API key.", problem=True),
    Reply(429, "Too many requests for this API key.", problem=True, retry_after=True),
    Reply(500, "Unexpected error (never expected; reported).", problem=True),
    Reply(503, "A backing service is unavailable; retry later.", problem=True, retry_after=True),
)
BODY_ERRORS = (
    Reply(400, "The body is not valid JSON.", problem=True),
    Reply(413, "The body is larger than the limit.", problem=True),
    Reply(415, "The body is not JSON.", problem=True),
    Reply(422, "Invalid fields, one entry per field in `errors`.", problem=True),
)
PARAMETER_ERRORS = (Reply(422, "Invalid parameters.", problem=True),)


def is_documented(rule: Rule) -> bool:
    """False for the routes that are not part of the JSON API (see NOT_DOCUMENTED)."""
    return rule.endpoint.partition(".")[0] not in NOT_DOCUMENTED


def _ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


class _Schemas:
    """The components/schemas section, filled as operations name models."""

    def __init__(self) -> None:
        self.models: dict[type[BaseModel], str] = {Problem: "serialization"}
        self.extra: dict[str, Any] = {}  # enums that only query parameters name

    def ref(self, model: type[BaseModel], mode: str) -> dict[str, str]:
        self.models.setdefault(model, mode)
        return _ref(model.__name__)

    def components(self) -> dict[str, Any]:
        pairs = [(model, mode) for model, mode in self.models.items()]
        _keys, schema = models_json_schema(pairs, ref_template=REF)  # type: ignore[arg-type]  # mode is one of the two literals
        return dict(sorted(schema.get("$defs", {}).items()))


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    # An optional query parameter is absent, never JSON null: keep the non-null branch.
    branches = [branch for branch in schema.get("anyOf", []) if branch.get("type") != "null"]
    if len(branches) != 1:
        return schema
    rest = {key: value for key, value in schema.items() if key not in ("anyOf", "title")}
    return {**branches[0], **rest}


def _query_parameters(model: type[BaseModel], schemas: _Schemas) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF)
    for name, definition in schema.get("$defs", {}).items():
        schemas.extra[name] = definition
    required = set(schema.get("required", []))
    parameters = []
    for name, field in schema["properties"].items():
        field_schema = _without_null(field)
        if field_schema.get("default", "") is None:  # absent means no filter; null is not a value
            del field_schema["default"]
        description = field_schema.pop("description", "")
        field_schema.pop("title", None)
        parameters.append(
            {
                "name": name,
                "in": "query",
                "required": name in required,
                "schema": field_schema,
                "description": description,
            }
        )
    return parameters


def _response(reply: Reply, schemas: _Schemas) -> dict[str, Any]:
    response: dict[str, Any] = {"description": reply.description}
    if reply.problem:
        response["content"] = {PROBLEM_MIME: {"schema": schemas.ref(Problem, "serialization")}}
    elif reply.model is not None:
        response["content"] = {"application/json": {"schema": schemas.ref(reply.model, "serialization")}}
    elif reply.media_type is not None:
        response["content"] = {reply.media_type: {"schema": {}}}
    if reply.retry_after:
        response["headers"] = {"Retry-After": {"schema": {"type": "integer", "minimum": 0}}}
    return response


def _path_parameters(rule: Rule) -> list[dict[str, Any]]:
    return [
        {"name": name, "in": "path", "required": True, "schema": PATH_SCHEMAS.get(kind, {"type": "string"})}
        for kind, name in re.findall(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", rule.rule)
    ]


SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "An API key."},
    "metricsToken": {"type": "http", "scheme": "bearer", "description": "The METRICS_TOKEN setting."},
}


def _operation(rule: Rule, operation: Operation, keyed: bool, schemas: _Schemas) -> dict[str, Any]:
    parameters = [
        *_path_parameters(rule),
        *(
            {"name": header.name, "in": "header", "required": False}
            | {"schema": header.adapter.json_schema(), "description": header.description}
            for header in operation.headers
        ),
        *(_query_parameters(operation.query, schemas) if operation.query else []),
    ]
    guarded = keyed or operation.security is not None
    errors = [reply for reply in COMMON_ERRORS if guarded or reply.status != 401]
    if parameters:
        errors += PARAMETER_ERRORS
    if operation.body is not None:
        errors += BODY_ERRORS
    replies = {str(reply.status): reply for reply in (*errors, *operation.replies)}
    document: dict[str, Any] = {
        "operationId": operation.operation_id,
        "summary": operation.summary,
        "responses": {status: _response(reply, schemas) for status, reply in replies.items()},
    }
    if parameters:
        document["parameters"] = parameters
    if operation.body is not None:
        document["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": schemas.ref(operation.body, "validation")}},
        }
    if operation.security is not None:
        document["security"] = [{operation.security: []}]
    elif not keyed:
        document["security"] = []
    return document


def build_document(app: Flask) -> dict[str, Any]:
    """The document for `app`'s routes; raises if a documented route has no @declare."""
    schemas = _Schemas()
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        if not is_documented(rule):
            continue
        view = app.view_functions[rule.endpoint]
        operation = operation_of(view)
        if operation is None:
            raise LookupError(f"route {rule.rule} ({rule.endpoint}) has no @declare")
        path = re.sub(r"<(?:\w+(?:\([^)]*\))?:)?(\w+)>", r"{\1}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(
                rule, operation, needs_api_key(view), schemas
            )
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Product Image Scraper",
            "version": "1.0.0",
            "description": "Pulls real product photos out of sales pages. Errors are application/problem+json.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "schemas": {**schemas.components(), **schemas.extra},
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


def openapi_document(app: Flask | None = None) -> dict[str, Any]:
    """The document of `app` (default: the current app), built once per app."""
    target: Flask = app if app is not None else current_app._get_current_object()  # type: ignore[attr-defined]  # werkzeug's LocalProxy
    if EXTENSION_KEY not in target.extensions:
        target.extensions[EXTENSION_KEY] = build_document(target)
    return target.extensions[EXTENSION_KEY]  # type: ignore[no-any-return]  # extensions is dict[str, Any]


@bp.get("/openapi.json")
@declare("openapi", "This document.", other(200, "OpenAPI 3.1", "application/json"))
def openapi_json() -> Response:
    response = jsonify(openapi_document())
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
