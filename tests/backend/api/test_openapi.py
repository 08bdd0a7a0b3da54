"""The OpenAPI 3.1 description: served, complete, accurate, and a schemathesis run against the live app."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from backend import create_app, shapes
from backend.api import openapi
from backend.api.declare import operation_of
from tests.backend.api.conftest import running_worker, shutdown_app

MAX_EXAMPLES = 40  # per operation and phase: the whole run stays well under a minute
# "Schema-valid data is accepted" cannot hold here: cursors are opaque tokens only the API mints,
# and whether a URL can be scraped is decided by DNS, not by its shape. Every other check runs:
# no 5xx, status codes, content types, headers and bodies as described, negative data rejected.
OUT_OF_REACH_CHECKS = [positive_data_acceptance]


def test_document_is_served_publicly_as_openapi_3_1(client):
    """GET /api/v1/openapi.json needs no key and is an OpenAPI 3.1 document with a bearer scheme."""
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"] == "3.1.0"
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_every_route_declares_its_operation(app):
    """Each JSON API route carries an @declare; a new route without one fails here (and the document)."""
    undeclared = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if openapi.is_documented(rule) and operation_of(app.view_functions[rule.endpoint]) is None
    ]
    assert undeclared == []


def test_an_undeclared_route_stops_the_document(app):
    """The document is built from the routes, so a route added without @declare cannot be served silently."""
    app.add_url_rule("/api/v1/undeclared", "undeclared", lambda: "")
    with pytest.raises(LookupError, match="/api/v1/undeclared"):
        openapi.build_document(app)


def test_security_follows_require_api_key(app):
    """Exactly the routes without @require_api_key or a scheme of their own are public in the document."""
    public = {
        (method.upper(), path)
        for path, item in openapi.openapi_document(app)["paths"].items()
        for method, operation in item.items()
        if operation.get("security") == []
    }
    assert public == {("GET", "/health"), ("GET", "/health/live"), ("GET", "/api/v1/openapi.json")}
    metrics = openapi.openapi_document(app)["paths"]["/metrics"]["get"]
    assert metrics["security"] == [{"metricsToken": []}] and "401" in metrics["responses"]


def test_query_parameters_come_from_the_query_models(app):
    """GET /jobs documents JobListQuery's fields: limit's bounds and default, the status enum, the cursor."""
    operation = openapi.openapi_document(app)["paths"]["/api/v1/jobs"]["get"]
    parameters = {parameter["name"]: parameter for parameter in operation["parameters"]}
    assert set(parameters) == {"campaign_id", "status", "limit", "cursor"}
    assert parameters["limit"]["schema"] == {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}
    assert parameters["status"]["schema"] == {"$ref": "#/components/schemas/JobStatus"}
    assert parameters["cursor"]["schema"] == {"type": "string"}
    post = openapi.openapi_document(app)["paths"]["/api/v1/jobs"]["post"]
    (header,) = [parameter for parameter in post["parameters"] if parameter["in"] == "header"]
    assert header["name"] == "Idempotency-Key"
    assert header["schema"]["maxLength"] == 255


def test_every_route_is_described_and_nothing_else(app):
    """The document's operations are exactly the app's routes (files aside, which only the embedded mode serves)."""
    described = {
        (method.upper(), path)
        for path, item in openapi.openapi_document(app)["paths"].items()
        for method in item
    }
    served = set()
    for rule in app.url_map.iter_rules():
        # The web page, /docs and their assets are HTML for people, not part of the JSON API.
        if (
            rule.endpoint == "static"
            or rule.endpoint.startswith(("web.", "apidocs."))
            or rule.rule.startswith("/files/")
        ):
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        served |= {(method, path) for method in rule.methods - {"HEAD", "OPTIONS"}}
    assert described == served


def test_real_responses_match_the_described_models(api, make_campaign, make_image):
    """A job, a job list, an image, a list, stats and a problem, as served, validate against the models."""
    submitted = api.post("/api/v1/jobs", json={"sales_page_url": "https://shop.example.test/p/1"})
    shapes.Job.model_validate(submitted.get_json())
    shapes.JobList.model_validate(api.get("/api/v1/jobs").get_json())
    campaign = make_campaign(api)
    image = make_image(campaign)
    shapes.ImageList.model_validate(api.get(f"/api/v1/campaigns/{campaign}/images").get_json())
    shapes.ImageStats.model_validate(api.get(f"/api/v1/campaigns/{campaign}/images/stats").get_json())
    shapes.Image.model_validate(api.post(f"/api/v1/campaigns/{campaign}/images/{image.id}/use").get_json())
    problem = api.post("/api/v1/jobs", json={"sales_page_url": "nope"})
    assert problem.status_code == 422
    shapes.Problem.model_validate(problem.get_json())


# --- schemathesis, in process through the WSGI app -----------------------------------------


@pytest.fixture
def fuzz_app(settings_for_fuzz, tmp_path) -> Iterator[Flask]:
    application = create_app(settings_for_fuzz)
    with running_worker(settings_for_fuzz, tmp_path):  # /analyze previews run on a worker
        yield application
    shutdown_app(application)


@pytest.fixture
def settings_for_fuzz(settings, db, store):
    """Real services; nothing private is scraped, previews are short, the rate limit out of the way."""
    return settings.model_copy(
        update={
            "scraper_allow_private": False,
            "analyze_timeout": 2.0,
            "scraper_timeout": 2.0,
            "rate_limit": "100000 per minute",
            "rate_limit_analyze": "100000 per minute",
        }
    )


@pytest.fixture
def fuzz_key(make_key):
    return make_key("fuzz@example.test").plaintext


def test_api_conforms_to_its_description(fuzz_app, fuzz_key):
    """Generated requests for every operation never get a 5xx, and every response matches the description."""
    # schemathesis's own pytest loader does not run under pytest 9 yet (it sets node._nodeid), so
    # the operations are driven here: one bounded Hypothesis run per operation.
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzz_app)
    headers = {"Authorization": f"Bearer {fuzz_key}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.label for op in operations} >= {"POST /api/v1/jobs", "POST /api/v1/analyze", "GET /health"}
    for operation in operations:
        _fuzz(operation, headers)


def _fuzz(operation, headers: dict[str, str]) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case) -> None:
        case.call_and_validate(headers=headers, excluded_checks=OUT_OF_REACH_CHECKS)

    run()
