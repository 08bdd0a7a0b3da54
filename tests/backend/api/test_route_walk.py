"""Every described operation, walked from the OpenAPI document: hostile parameter values and rate limits on/off.

The operations, their parameters and their body fields come from /api/v1/openapi.json,
which test_openapi.py keeps equal to the app's routes, so a new route or parameter is
walked here without a new case.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from pydantic import SecretStr
from werkzeug.test import TestResponse

from tests.backend.api.conftest import api_for

# Nested far past the recursion limit, oversized, or simply odd: none may end in a 5xx.
NESTED = "[" * 1500 + "]" * 1500
HOSTILE_VALUES = {
    "nested-cursor": base64.urlsafe_b64encode(NESTED.encode()).decode().rstrip("="),
    "nested-raw": NESTED,
    "nested-object": "{" * 2000,
    "oversized": "a" * 100_000,
    "oversized-digits": "9" * 5000,
    "float-overflow": "1e999",
    "nan": "NaN",
    "negative": "-1",
    "nul": "a\x00b",
    "unicode": "\u202e\ufeff\U0001f600",
    "empty": "",
}
# The same as JSON values of a body field (the body itself stays small and valid JSON).
HOSTILE_JSON: dict[str, Any] = {
    "deep-list": json.loads("[" * 900 + "]" * 900),
    "deep-object": json.loads('{"a":' * 900 + "1" + "}" * 900),
    "long-list": list(range(5000)),
    "big-int": 10**200,
    "float": 1e308,
    "bool": True,
    "null": None,
    **HOSTILE_VALUES,
}


@dataclass
class Operation:
    method: str
    path: str
    parameters: list[dict[str, Any]]
    body_fields: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"{self.method.upper()} {self.path}"

    def url(self, path_values: dict[str, str] | None = None) -> str:
        values = {p["name"]: str(uuid.uuid4()) for p in self.parameters if p["in"] == "path"}
        url = self.path
        for name, value in {**values, **(path_values or {})}.items():
            url = url.replace("{" + name + "}", value)
        return url


def operations(app: Flask) -> list[Operation]:
    """Every operation of the app's OpenAPI document, with its parameters and body fields."""
    document = app.test_client().get("/api/v1/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    found = []
    for path, item in document["paths"].items():
        for method, spec in item.items():
            if method == "parameters":
                continue
            parameters = [*item.get("parameters", []), *spec.get("parameters", [])]
            body = spec.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            fields = {}
            if body is not None:
                ref = body.get("$ref", "")
                fields = schemas[ref.rsplit("/", 1)[-1]]["properties"] if ref else body.get("properties", {})
            found.append(Operation(method, path, parameters, fields))
    return found


# Bodies that reach nothing: jobs are only queued (no worker runs here), and the preview's URL
# is refused by validation, so no page is fetched and no worker is waited for.
BASELINE_BODIES = {
    "/api/v1/jobs": {"sales_page_url": "https://shop.example.test/p/1"},
    "/api/v1/analyze": {"url": "ftp://shop.example.test/p/1"},
}


def _headers(operation: Operation, key: str, metrics_token: SecretStr | None) -> dict[str, str]:
    if operation.path == "/metrics":
        token = metrics_token.get_secret_value() if metrics_token else None
    else:
        token = key
    return {"Authorization": f"Bearer {token}"} if token else {}


def _call(
    client: Any, operation: Operation, *, headers: dict[str, str], url: str | None = None, **kwargs: Any
) -> TestResponse:
    if operation.body_fields and "json" not in kwargs and "data" not in kwargs:
        kwargs["json"] = BASELINE_BODIES.get(operation.path, {})
    return client.open(url or operation.url(), method=operation.method.upper(), headers=headers, **kwargs)


def _hostile_requests(operation: Operation) -> Iterator[tuple[str, dict[str, Any]]]:
    """(what, request kwargs) for every parameter and body field of `operation`, every hostile value."""
    for parameter in operation.parameters:
        name, where = parameter["name"], parameter["in"]
        for label, value in HOSTILE_VALUES.items():
            what = f"{where} {name}={label}"
            if where == "query":
                yield what, {"query_string": {name: value}}
            elif where == "path":
                yield what, {"url": operation.url({name: value.replace("/", "%2F")})}
            elif where == "header" and "\x00" not in value:
                yield what, {"extra_headers": {name: value}}
    for name in operation.body_fields:
        for label, value in HOSTILE_JSON.items():
            body = {**BASELINE_BODIES.get(operation.path, {}), name: value}
            yield f"body {name}={label}", {"json": body}


@pytest.fixture
def walk_app(make_app) -> Flask:
    """The app with the guard on (nothing private fetched) and limits out of the way."""
    return make_app(
        scraper_allow_private=False,
        rate_limit="100000 per minute",
        rate_limit_analyze="100000 per minute",
        rate_limit_unauthenticated="100000 per minute",
    )


def test_the_walk_covers_every_parameter_kind(walk_app):
    """The document names the parameters the walk must reach: the cursors, the filters, Idempotency-Key."""
    names = {(op.label, p["name"]) for op in operations(walk_app) for p in op.parameters}
    assert {
        ("GET /api/v1/jobs", "cursor"),
        ("GET /api/v1/campaigns/{campaign_id}/images", "cursor"),
        ("GET /api/v1/campaigns/{campaign_id}/images", "min_quality"),
        ("POST /api/v1/jobs", "Idempotency-Key"),
    } <= names


def test_nested_cursor_is_422_not_500(walk_app, user_key):
    """The base64 of 1500 nested brackets as a cursor is a 422 naming `cursor`, on both listings."""
    api = api_for(walk_app, user_key)
    cursor = HOSTILE_VALUES["nested-cursor"]
    for path in ("/api/v1/jobs", f"/api/v1/campaigns/{uuid.uuid4()}/images"):
        response = api.get(path, query_string={"cursor": cursor})
        assert response.status_code == 422, path
        assert [error["field"] for error in response.get_json()["errors"]] == ["cursor"]


def test_every_parameter_refuses_hostile_values_without_a_5xx(walk_app, user_key, scrape_queue):
    """Every parameter and body field of every operation, with nested and oversized values: 2xx-4xx, errors as problem+json."""
    client = walk_app.test_client()
    failures = []
    for operation in operations(walk_app):
        base = _headers(operation, user_key.plaintext, walk_app.extensions["scraper"].settings.metrics_token)
        for what, kwargs in _hostile_requests(operation):
            headers = {**base, **kwargs.pop("extra_headers", {})}
            response = _call(client, operation, headers=headers, **kwargs)
            problem = response.mimetype == "application/problem+json"
            if response.status_code >= 500 or (response.status_code >= 400 and not problem):
                failures.append(f"{operation.label} {what}: {response.status_code} {response.mimetype}")
    assert failures == []


@pytest.mark.parametrize("enabled", [True, False], ids=["limits-on", "limits-off"])
def test_every_operation_works_with_rate_limits_on_and_off(make_app, user_key, enabled):
    """Limits on: each /api/v1 operation answers twice, then 429; off: never 429. Never a 5xx either way."""
    application = make_app(
        metrics_token=SecretStr("walk-metrics-token"),
        rate_limit_enabled=enabled,
        rate_limit="2 per minute",
        rate_limit_analyze="2 per minute",
        scraper_allow_private=False,
    )
    client = application.test_client()
    token = application.extensions["scraper"].settings.metrics_token
    seen = {}
    for operation in operations(application):
        url = operation.url()
        headers = _headers(operation, user_key.plaintext, token)
        seen[operation.label] = [
            _call(client, operation, headers=headers, url=url).status_code for _ in range(3)
        ]
    assert {label: s for label, s in seen.items() if max(s) >= 500} == {}
    limited = {label for label, s in seen.items() if s[2] == 429 and 429 not in s[:2]}
    api_labels = {label for label in seen if label.split(" ", 1)[1].startswith("/api/v1/")}
    assert limited == (api_labels if enabled else set())
