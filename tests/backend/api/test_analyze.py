"""POST /api/v1/analyze against a loopback shop page: ranked preview, failure codes, nothing saved.

The previews run on a real Celery worker process (module-scoped) consuming the session's
analyze queue on Redis; the API waits for its reply. What the worker itself does with a
page (blocked addresses, its deadline) is tested on `run_analysis` in tests/worker/test_analysis.py.
"""

from __future__ import annotations

import io
import random
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image
from sqlalchemy import func, select

from backend import create_app
from backend.models import Campaign, Job, ScrapedImage
from backend.settings import load_settings
from tests import processes
from tests.backend.api.conftest import Api, running_worker, shutdown_app

CANDIDATE_FIELDS = [
    "url",
    "width",
    "height",
    "format",
    "file_size",
    "quality_score",
    "image_type",
    "is_hero",
    "is_product",
    "is_lifestyle",
    "alt_text",
]


def product_shot(width: int, height: int, seed: int, fmt: str = "JPEG") -> bytes:
    """A textured object on a white background, like a packshot."""
    rng = random.Random(seed)
    image = Image.new("RGB", (width, height), "white")
    box = (width // 5, height // 8, width * 4 // 5, height * 7 // 8)
    inner = Image.effect_noise((box[2] - box[0], box[3] - box[1]), 60).convert("RGB")
    tint = Image.new(
        "RGB", inner.size, (rng.randrange(40, 200), rng.randrange(40, 200), rng.randrange(40, 200))
    )
    image.paste(Image.blend(inner, tint, 0.5), box[:2])
    out = io.BytesIO()
    image.save(out, fmt, quality=90)
    return out.getvalue()


def scene_shot(width: int, height: int) -> bytes:
    """A busy, colourful full-bleed photo, like a lifestyle image."""
    noise = [Image.effect_noise((width, height), 90) for _ in range(3)]
    out = io.BytesIO()
    Image.merge("RGB", noise).save(out, "JPEG", quality=90)
    return out.getvalue()


def icon() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), "red").save(out, "PNG")
    return out.getvalue()


PAGE = b"""<!doctype html><html><head><title>Widget 3000</title>
<meta property="og:image" content="/img/front.jpg"></head><body>
<img src="/img/logo.png" alt="Shop logo" class="logo" width="16" height="16">
<h1>Widget 3000</h1>
<img src="/img/front.jpg" alt="Widget 3000 front" width="900" height="900">
<img src="/img/side.jpg" alt="Widget 3000 side">
<img src="/img/kitchen.jpg" alt="Widget 3000 in a kitchen">
<img src="/img/missing.jpg" alt="gone">
</body></html>"""


class ShopHandler(BaseHTTPRequestHandler):
    files: dict[str, tuple[str, bytes]] = {}  # noqa: RUF012 - filled once by the fixture

    def do_GET(self) -> None:
        if self.path == "/slow":
            time.sleep(3)
        entry = self.files.get(self.path)
        if entry is None:
            self.send_error(404)
            return
        content_type, body = entry
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def shop() -> Iterator[str]:
    """A loopback shop serving one product page, its images, and a page too slow to wait for."""
    ShopHandler.files = {
        "/product": ("text/html; charset=utf-8", PAGE),
        "/slow": ("text/html", PAGE),
        "/img/logo.png": ("image/png", icon()),
        "/img/front.jpg": ("image/jpeg", product_shot(900, 900, seed=1)),
        "/img/side.jpg": ("image/jpeg", product_shot(800, 800, seed=2)),
        "/img/kitchen.jpg": ("image/jpeg", scene_shot(1200, 800)),
    }
    server = ThreadingHTTPServer(("127.0.0.1", 0), ShopHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module", autouse=True)
def analyze_worker(
    database_url, redis_url, celery_queue, tmp_path_factory
) -> Iterator[processes.ServiceProcess]:
    """A worker process on the session's queues, for every test of this module."""
    folder = tmp_path_factory.mktemp("analyze-worker")
    settings = load_settings(
        app_env="test",
        database_url=database_url,  # migrated: a worker takes nothing until the schema is at head
        celery_queue=celery_queue,
        redis_url=redis_url,
        var_dir=folder / "var",
        scraper_allow_private=True,
    )
    with running_worker(settings, folder) as worker:
        yield worker


def count_rows(db) -> int:
    with db.session() as session:
        return sum(session.scalar(select(func.count()).select_from(m)) for m in (Campaign, Job, ScrapedImage))


def test_analyze_ranks_the_pages_images_and_saves_nothing(api, shop, db, s3_server):
    """The preview lists the kept images best first with the documented fields; no row or object is made."""
    response = api.post("/api/v1/analyze", json={"url": f"{shop}/product"})

    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert list(body) == ["url", "images_found", "candidates", "skipped"]
    assert body["url"] == f"{shop}/product"
    assert body["images_found"] >= 4
    candidates = body["candidates"]
    assert candidates, body["skipped"]
    assert all(list(c) == CANDIDATE_FIELDS for c in candidates)
    scores = [c["quality_score"] for c in candidates]
    assert scores == sorted(scores, reverse=True)
    assert all(0 <= s <= 100 for s in scores)
    kept = {c["url"] for c in candidates}
    assert f"{shop}/img/front.jpg" in kept
    assert f"{shop}/img/logo.png" not in kept
    front = next(c for c in candidates if c["url"] == f"{shop}/img/front.jpg")
    assert (front["width"], front["height"], front["format"]) == (900, 900, "JPEG")
    assert front["alt_text"] == "Widget 3000 front"
    skipped = {s["url"]: s for s in body["skipped"]}
    assert f"{shop}/img/missing.jpg" in skipped
    assert all(set(s) == {"url", "reason", "detail"} for s in body["skipped"])
    assert count_rows(db) == 0
    assert s3_server.object_keys() == []


def test_analyze_respects_max_images(api, shop):
    """max_images caps the ranked list."""
    body = api.post("/api/v1/analyze", json={"url": f"{shop}/product", "max_images": 1}).get_json()

    assert len(body["candidates"]) == 1


@pytest.mark.parametrize(
    ("path", "code"),
    [("/does-not-exist", "http_error"), ("/img/front.jpg", "not_html")],
)
def test_analyze_failures_are_422_with_the_error_code(api, shop, path, code):
    """A page that answers 404, or is not HTML, is a 422 problem carrying the job error code."""
    response = api.post("/api/v1/analyze", json={"url": f"{shop}{path}"})

    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == code


def test_a_preview_no_worker_answers_is_504_and_a_full_process_is_503(
    make_settings, database_url, redis_url, s3_settings, make_key, db, shop
):
    """With nobody consuming its queue, a preview waits ANALYZE_TIMEOUT + grace and is 504; while it
    waits, the process's one waiting slot is taken, so another preview is 503 at once."""
    app = create_app(
        make_settings(
            database_url=database_url,
            redis_url=redis_url,
            celery_queue=f"nobody-{time.monotonic_ns()}",
            analyze_timeout=0.5,
            analyze_max_waiting=1,
            **s3_settings,
        )
    )
    answers: list = []
    try:
        key = make_key("owner@example.test")
        waiter = threading.Thread(
            target=lambda: answers.append(
                Api(app.test_client(), key).post("/api/v1/analyze", json={"url": f"{shop}/product"})
            )
        )
        waiter.start()
        processes.wait_until(
            lambda: (
                app.extensions.get("analyze_waiting") is not None
                and app.extensions["analyze_waiting"].slots._value == 0
            ),
            timeout=5,
            interval=0.02,
            what="the first preview to take the slot",
        )
        busy = Api(app.test_client(), key).post("/api/v1/analyze", json={"url": f"{shop}/product"})
        waiter.join(timeout=30)
    finally:
        shutdown_app(app)

    assert (busy.status_code, busy.mimetype) == (503, "application/problem+json")
    assert busy.get_json()["type"].endswith("analyze-busy")
    assert "Retry-After" in busy.headers
    [late] = answers
    assert (late.status_code, late.mimetype) == (504, "application/problem+json")
    assert late.get_json()["type"].endswith("analyze-timeout")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "ftp://shop.example.test/p"}, "url"),
        ({}, "url"),
        ({"url": "https://shop.example.test/p", "max_images": 0}, "max_images"),
        ({"url": "https://shop.example.test/p", "depth": 2}, "depth"),
    ],
)
def test_analyze_validates_its_body(api, body, field):
    """Bad or missing URLs and unknown fields are 422 by name, before anything is fetched."""
    response = api.post("/api/v1/analyze", json=body)

    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == [field]


def test_analyze_needs_json(api):
    """A non-JSON body is 415, a broken one 400."""
    assert api.post("/api/v1/analyze", data="url=x").status_code == 415
    assert api.post("/api/v1/analyze", data="{", content_type="application/json").status_code == 400
