"""A small, deterministic shop site for scraper tests: `build_site` writes it, `serve_site` serves it on loopback.

Usage::

    manifest = build_site(tmp_path / "site")          # same files every time, ~1 s
    with serve_site(tmp_path / "site") as base_url:   # "http://127.0.0.1:PORT"
        page_url = base_url + manifest.pages["basic"].path
        ...
        truth = manifest.pages["basic"]
        truth.photos        # the real pictures: Photo(name, role, urls) with role hero|product|lifestyle
        truth.junk          # {path: kind} for everything else the page references

Image URLs in the manifest are server paths (plus query string), as `site_path(url)` returns
them from an absolute URL. Pages (`manifest.pages`): `basic` (img, og:image, JSON-LD list,
inline CSS lifestyle, header/footer junk, related products, a 404), `lazy` (data-src with
placeholder, data-srcset, x-srcset, picture/WebP, data-zoom-image, data-large_image,
data-original, twitter:image, link image_src, JSON-LD @graph ImageObject, data-bg), `base`
(<base href>, padded/entity-encoded/protocol-relative URLs, an image behind a redirect),
`dupes` (exact copy and resized WebP copy of one photo) and `brokenjson` (malformed JSON-LD).

The server (ThreadingHTTPServer on 127.0.0.1, an ephemeral port, HTTP/1.1 keep-alive) also:
- answers 302 for every path in `<root>/_redirects.json` (`manifest.redirects`);
- `/slow/<path>`: serves <path> trickling SLOW_CHUNK_BYTES every SLOW_INTERVAL seconds;
- `/stall/<path>`: waits STALL_SECONDS before answering at all;
- `/endless<.ext>`: streams bytes without Content-Length until the client hangs up;
- `/no-referer/<path>`: 403 when the request carries a Referer, else <path>;
- `/referer-only/<path>`: 403 when it carries none, else <path>;
- `/headers.json`: the request's headers as a JSON object;
- replaces `__HOST__` in HTML with the request's Host (for protocol-relative URLs);
- serves `<path>` + QUERY_MARK + `<query>` (percent-decoded) when that file exists
  (`query_file`), so an image CDN's `?wid=300` can be a different file from its `?wid=2000`;
  else the query is ignored.

`tests/shopsite/platforms/` builds a second site on the same server: pages shaped like the big
shop platforms (`build_platform_site`).
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import random
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from PIL import Image, ImageDraw

from backend.pictures import WHITE, lifestyle_photo, product_photo
from backend.pictures import color as _color

SLOW_CHUNK_BYTES = 16
SLOW_INTERVAL = 0.1
STALL_SECONDS = 3.0
ENDLESS_LIMIT_SECONDS = 20.0
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".jpg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".svg": "image/svg+xml",
    ".json": "application/json",
}
QUERY_MARK = "__q__"


def query_file(path: str) -> str:
    """The file name that serves `path` with its query string (see the server notes above)."""
    base, _, query = path.partition("?")
    return f"{base}{QUERY_MARK}{unquote(query)}" if query else base


def served_file(root: Path, path: str, query: str = "") -> Path | None:
    """The file under `root` (resolved) the server answers `path` (percent-decoded) and `query` with; None: 404."""
    target = (root / path.lstrip("/")).resolve()
    with_query = (root / query_file(f"{path}?{query}").lstrip("/")).resolve()
    if query and with_query.is_relative_to(root) and with_query.is_file():
        target = with_query
    if target.is_dir():
        target = target / "index.html"
    return target if target.is_relative_to(root) and target.is_file() else None


@dataclass(frozen=True)
class Photo:
    """One real picture; `urls` lists every variant the page references (sizes, formats, copies)."""

    name: str
    role: str  # hero | product | lifestyle
    urls: tuple[str, ...]


@dataclass(frozen=True)
class PageTruth:
    path: str
    photos: tuple[Photo, ...]
    junk: dict[str, str]  # path -> kind: logo, icon, tracking_pixel, placeholder, svg, data_uri, …

    def photo_for(self, path: str) -> Photo | None:
        return next((photo for photo in self.photos if path in photo.urls), None)


@dataclass(frozen=True)
class SiteManifest:
    pages: dict[str, PageTruth]
    redirects: dict[str, str]
    redirect_to_basic: str = "/go/basic"
    redirect_loop: str = "/loop/a"
    not_html: str = "/feed.json"
    image_page: str = "/img/basic/hero.jpg"
    missing: str = "/products/gone.html"


def site_path(url: str) -> str:
    """The server path (and query) of an absolute URL: how the manifest names images."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


# --- pictures -----------------------------------------------------------------------------


def logo_image() -> Image.Image:
    logo = Image.new("RGBA", (240, 80), (0, 0, 0, 0))
    draw = ImageDraw.Draw(logo)
    draw.ellipse((8, 8, 72, 72), fill=(200, 30, 40, 255))
    for index in range(4):
        draw.rectangle((90 + index * 36, 24, 116 + index * 36, 56), fill=(30, 30, 30, 255))
    return logo


def icon_image(seed: int) -> Image.Image:
    icon = Image.new("RGBA", (24, 24), (0, 0, 0, 0))
    ImageDraw.Draw(icon).ellipse((3, 3, 21, 21), outline=_color(random.Random(seed)), width=3)
    return icon


def flat_image(size: tuple[int, int], color: tuple[int, int, int]) -> Image.Image:
    return Image.new("RGB", size, color)


def sprite_image() -> Image.Image:
    strip = Image.new("RGBA", (512, 64), (0, 0, 0, 0))
    draw = ImageDraw.Draw(strip)
    for index in range(8):
        draw.rectangle((index * 64 + 8, 8, index * 64 + 56, 56), fill=_color(random.Random(index)))
    return strip


def encode(image: Image.Image, image_format: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **params)
    return buffer.getvalue()


def jpeg(image: Image.Image, quality: int = 88) -> bytes:
    return encode(image.convert("RGB"), "JPEG", quality=quality)


def resized(image: Image.Image, side: int) -> Image.Image:
    copy = image.copy()
    copy.thumbnail((side, side))
    return copy


# --- pages --------------------------------------------------------------------------------


@dataclass
class SiteWriter:
    """Writes one site's files under `root` and collects the truth of the page being written."""

    root: Path
    photos: list[Photo] = field(default_factory=list)
    junk: dict[str, str] = field(default_factory=dict)

    def file(self, path: str, data: bytes) -> str:
        """Write `data` where the server answers `path` (a path with a query: its `query_file`); returns `path`."""
        target = self.root / query_file(path).lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return path

    def photo(
        self, name: str, role: str, files: dict[str, bytes], *, extra_urls: tuple[str, ...] = ()
    ) -> None:
        urls = tuple(self.file(path, data) for path, data in files.items())
        self.photos.append(Photo(name=name, role=role, urls=urls + extra_urls))

    def page(self, path: str, html: str) -> PageTruth:
        self.file(path, html.encode())
        truth = PageTruth(path=path, photos=tuple(self.photos), junk=dict(self.junk))
        self.photos, self.junk = [], {}
        return truth


PIXEL_GIF = encode(flat_image((1, 1), WHITE), "GIF")
DATA_URI = "data:image/gif;base64," + base64.b64encode(PIXEL_GIF).decode()


def write_shared_static(writer: SiteWriter) -> None:
    """Site furniture every page references: logo, icons, pixel, badges, sprite, avatars, others' thumbnails."""
    writer.file("/static/logo.png", encode(logo_image(), "PNG"))
    for index, name in enumerate(("cart", "search", "heart")):
        writer.file(f"/static/icons/{name}.png", encode(icon_image(index), "PNG"))
    writer.file("/t/pixel.gif", PIXEL_GIF)
    writer.file("/static/badges/visa.png", encode(flat_image((60, 38), (20, 60, 160)), "PNG"))
    writer.file(
        "/static/social/facebook.svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24"/>'
    )
    writer.file("/static/img-default.gif", encode(flat_image((400, 400), (221, 221, 221)), "GIF"))
    writer.file("/static/placeholder.gif", encode(flat_image((10, 10), (238, 238, 238)), "GIF"))
    writer.file("/static/sprite.png", encode(sprite_image(), "PNG"))
    writer.file("/img/people/ann.jpg", jpeg(resized(lifestyle_photo(900, (256, 256)), 64)))
    for index in range(3):
        writer.file(f"/img/other/p{index}.jpg", jpeg(product_photo(800 + index, (300, 300))))


HEADER = (
    '<header class="site-header"><a class="logo" href="/"><img src="/static/logo.png" alt="ACME"></a>'
    '<nav><a href="/cart"><img class="icon" src="/static/icons/cart.png" alt="cart" width="24" height="24"></a>'
    '<a href="/search"><img class="icon" src="/static/icons/search.png" alt="search"></a></nav></header>'
)
FOOTER = (
    '<footer class="site-footer"><img class="payment-icon" src="/static/badges/visa.png" alt="Visa">'
    '<a href="/fb"><img src="/static/social/facebook.svg" alt="Facebook"></a>'
    '<img src="/t/pixel.gif?uid=42&amp;ev=view" width="1" height="1" alt=""></footer>'
)
RELATED = (
    '<section class="related-products"><h2>You may also like</h2>'
    + "".join(f'<a href="/p/{i}"><img src="/img/other/p{i}.jpg" alt="Other {i}"></a>' for i in range(3))
    + "</section>"
)
REVIEWS = '<div class="review"><img class="avatar" src="/img/people/ann.jpg" alt="Ann" width="64"><p>Great!</p></div>'
CHROME_JUNK = {
    "/static/logo.png": "logo",
    "/static/icons/cart.png": "icon",
    "/static/icons/search.png": "icon",
    "/static/badges/visa.png": "badge",
    "/static/social/facebook.svg": "svg",
    "/t/pixel.gif?uid=42&ev=view": "tracking_pixel",
    "/img/people/ann.jpg": "avatar",
    "/img/other/p0.jpg": "related_product",
    "/img/other/p1.jpg": "related_product",
    "/img/other/p2.jpg": "related_product",
}


def page_html(title: str, head: str, body: str) -> str:
    """A whole page: `head` and `body` inside the shop's chrome (header, reviews, related products, footer)."""
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>{head}</head>'
        f"<body>{HEADER}<main>{body}{REVIEWS}{RELATED}</main>{FOOTER}</body></html>"
    )


def jsonld_script(data: object) -> str:
    """`data` as a JSON-LD script element."""
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


def _basic_page(writer: SiteWriter) -> PageTruth:
    """Plain <img> gallery, og:image, JSON-LD image list (with a zoom-only shot), CSS lifestyle, a 404."""
    hero = product_photo(1, (1000, 1000))
    writer.photo("basic-hero", "hero", {"/img/basic/hero.jpg": jpeg(hero)})
    writer.photo("basic-side", "product", {"/img/basic/side.jpg": jpeg(product_photo(2, (800, 800)))})
    writer.photo("basic-back", "product", {"/img/basic/back.jpg": jpeg(product_photo(3, (800, 800)))})
    writer.photo("basic-detail", "product", {"/img/basic/detail.jpg": jpeg(product_photo(4, (900, 900)))})
    writer.photo("basic-scene", "lifestyle", {"/img/basic/scene.jpg": jpeg(lifestyle_photo(5, (1000, 667)))})
    writer.junk.update(CHROME_JUNK)
    writer.junk.update({"/img/basic/missing.jpg": "broken", "/static/img-default.gif": "placeholder"})
    writer.junk[DATA_URI[:100]] = "data_uri"
    product = {"@context": "https://schema.org", "@type": "Product", "name": "Tonic"}
    product["image"] = ["/img/basic/hero.jpg", "/img/basic/side.jpg", "/img/basic/detail.jpg"]
    head = '<meta property="og:image" content="/img/basic/hero.jpg">' + jsonld_script(product)
    body = (
        '<div class="product-gallery"><img src="/img/basic/hero.jpg" alt="Tonic, front" width="1000">'
        '<img src="/img/basic/side.jpg" alt="Tonic, side"><img src="/img/basic/back.jpg" alt="Tonic, back">'
        '<img src="/img/basic/missing.jpg" alt="Tonic, top"></div>'
        '<div class="story" style="background-image: url(\'/img/basic/scene.jpg\')"><h2>Made for mornings</h2></div>'
        f'<p><img src="/static/img-default.gif" alt=""><img src="{DATA_URI}" alt=""></p>'
    )
    return writer.page("/products/basic.html", page_html("Tonic", head, body))


def _lazy_page(writer: SiteWriter) -> PageTruth:
    """A modern theme: lazy attributes, srcset/picture variants, zoom attributes, JSON-LD @graph, data-bg."""
    front = product_photo(11, (1000, 1000))
    files = {f"/img/lazy/front-{side}.jpg": jpeg(resized(front, side)) for side in (400, 800, 1000)}
    writer.photo("lazy-front", "hero", files)
    side = product_photo(12, (960, 960))
    writer.photo(
        "lazy-side",
        "product",
        {"/img/lazy/side-480.jpg": jpeg(resized(side, 480)), "/img/lazy/side-960.jpg": jpeg(side)},
    )
    top = product_photo(13, (800, 800))
    writer.photo(
        "lazy-top",
        "product",
        {"/img/lazy/top.webp": encode(top, "WEBP", quality=85), "/img/lazy/top.jpg": jpeg(top)},
    )
    writer.photo("lazy-detail", "product", {"/img/lazy/detail.jpg": jpeg(product_photo(14, (700, 700)))})
    opened = product_photo(15, (1000, 1000))
    writer.photo(
        "lazy-open",
        "product",
        {"/img/lazy/open-300.jpg": jpeg(resized(opened, 300)), "/img/lazy/open-1000.jpg": jpeg(opened)},
    )
    writer.photo("lazy-pack", "product", {"/img/lazy/pack.jpg": jpeg(product_photo(16, (800, 600)))})
    writer.photo("lazy-kit", "product", {"/img/lazy/kit.jpg": jpeg(product_photo(17, (600, 800)))})
    writer.photo("lazy-studio", "product", {"/img/lazy/studio.jpg": jpeg(product_photo(18, (800, 800)))})
    writer.photo(
        "lazy-kitchen", "lifestyle", {"/img/lazy/kitchen.jpg": jpeg(lifestyle_photo(19, (900, 600)))}
    )
    writer.junk.update(CHROME_JUNK)
    writer.junk.update({"/static/sprite.png": "sprite", "/static/placeholder.gif": "placeholder"})
    graph = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "WebPage", "name": "Lamp"},
            {"@type": "Product", "image": {"@type": "ImageObject", "url": "/img/lazy/studio.jpg"}},
        ],
    }
    head = (
        '<meta property="og:image:secure_url" content="/img/lazy/front-1000.jpg">'
        '<meta name="twitter:image" content="/img/lazy/front-1000.jpg">'
        '<link rel="image_src" href="/img/lazy/front-1000.jpg">' + jsonld_script(graph)
    )
    body = (
        '<div class="media-gallery">'
        '<img class="lazyload" src="/static/placeholder.gif" data-src="/img/lazy/front-800.jpg" '
        'data-srcset="/img/lazy/front-400.jpg 400w, /img/lazy/front-800.jpg 800w, /img/lazy/front-1000.jpg 1000w" alt="Lamp">'
        '<img src="/img/lazy/side-480.jpg" srcset="/img/lazy/side-480.jpg 1x, /img/lazy/side-960.jpg 2x" alt="Lamp side">'
        '<picture><source type="image/webp" srcset="/img/lazy/top.webp"><img src="/img/lazy/top.jpg" alt="Lamp top"></picture>'
        f'<img src="{DATA_URI}" data-lazy-src="/img/lazy/detail.jpg" alt="Lamp detail">'
        '<img src="/img/lazy/open-300.jpg" data-zoom-image="/img/lazy/open-1000.jpg" alt="Lamp open">'
        '<img src="/static/placeholder.gif" data-original="/img/lazy/pack.jpg" alt="Lamp pack">'
        '<img src="/static/placeholder.gif" data-large_image="/img/lazy/kit.jpg" alt="Kit">'
        "</div>"
        '<section class="banner" data-bg="/img/lazy/kitchen.jpg"><span class="sprite" style="background:url(/static/sprite.png) 0 0"></span></section>'
    )
    return writer.page("/products/lazy.html", page_html("Lamp", head, body))


def _base_page(writer: SiteWriter) -> PageTruth:
    """Relative URLs under <base href>, padded/entity-encoded/protocol-relative ones, a redirected image."""
    for index, letter in enumerate("abcd"):
        photo = product_photo(21 + index, (800, 800))
        writer.photo(
            f"base-{letter}",
            "hero" if letter == "a" else "product",
            {f"/assets/base/photo-{letter}.jpg": jpeg(photo)},
        )
    writer.photos[2] = Photo("base-c", "product", ("/assets/base/photo-c.jpg?v=1&size=large",))
    moved = lifestyle_photo(25, (900, 600))
    writer.photo(
        "base-e", "lifestyle", {"/assets/base/photo-e.jpg": jpeg(moved)}, extra_urls=("/img/go/photo-e.jpg",)
    )
    writer.file("/assets/base/icons/heart.png", encode(icon_image(7), "PNG"))
    writer.junk.update(CHROME_JUNK)
    writer.junk["/assets/base/icons/heart.png"] = "icon"
    head = '<base href="/assets/base/"><meta property="og:image" content="photo-a.jpg">'
    body = (
        '<div class="product-images"><img src="photo-a.jpg" alt="Kettle">'
        '<img src="  photo-b.jpg\n " alt="Kettle side">'
        '<img src="photo-c.jpg?v=1&amp;size=large" alt="Kettle lid">'
        '<img src="//__HOST__/assets/base/photo-d.jpg" alt="Kettle base">'
        '<img src="/img/go/photo-e.jpg" alt="Kettle in a kitchen"></div>'
        '<img class="wishlist" src="icons/heart.png" alt="">'
    )
    return writer.page("/products/base.html", page_html("Kettle", head, body))


def _dupes_page(writer: SiteWriter) -> PageTruth:
    """One photo three ways: the JPEG, a byte-identical copy, and a smaller WebP re-encode named by og:image."""
    photo = product_photo(31, (1000, 1000))
    data = jpeg(photo)
    files = {"/img/dupes/main.jpg": data, "/img/dupes/main-copy.jpg": data}
    files["/img/dupes/main-600.webp"] = encode(resized(photo, 600), "WEBP", quality=80)
    writer.photo("dupes-main", "hero", files)
    writer.photo("dupes-other", "product", {"/img/dupes/other.jpg": jpeg(product_photo(32, (800, 800)))})
    writer.junk.update(CHROME_JUNK)
    head = '<meta property="og:image" content="/img/dupes/main-600.webp">'
    body = (
        '<div class="gallery"><img src="/img/dupes/main.jpg" alt="Vase"><img src="/img/dupes/other.jpg" alt="Vase, top">'
        '</div><div class="description"><img src="/img/dupes/main-copy.jpg" alt="Vase"></div>'
    )
    return writer.page("/products/dupes.html", page_html("Vase", head, body))


def _broken_json_page(writer: SiteWriter) -> PageTruth:
    """JSON-LD with a trailing comma (recoverable) and one that is garbage; the page still works."""
    writer.photo("bj-main", "hero", {"/img/bj/main.jpg": jpeg(product_photo(41, (800, 800)))})
    writer.photo("bj-alt", "product", {"/img/bj/alt.jpg": jpeg(product_photo(42, (800, 800)))})
    writer.junk.update(CHROME_JUNK)
    head = (
        '<script type="application/ld+json">{"@type": "Product", "image": ["/img/bj/main.jpg", "/img/bj/alt.jpg",],}</script>'
        '<script type="application/ld+json">{"@type": "Product", "image": [</script>'
    )
    return writer.page("/products/brokenjson.html", page_html("Broken", head, "<p>Details soon.</p>"))


REDIRECTS = {
    "/go/basic": "/products/basic.html",
    "/img/go/photo-e.jpg": "/assets/base/photo-e.jpg",
    "/loop/a": "/loop/b",
    "/loop/b": "/loop/a",
}


def build_site(root: Path) -> SiteManifest:
    """Write the site under `root` (created if needed) and return its ground truth."""
    writer = SiteWriter(root)
    write_shared_static(writer)
    pages = {
        "basic": _basic_page(writer),
        "lazy": _lazy_page(writer),
        "base": _base_page(writer),
        "dupes": _dupes_page(writer),
        "brokenjson": _broken_json_page(writer),
    }
    writer.file("/feed.json", json.dumps({"items": []}).encode())
    writer.file("/_redirects.json", json.dumps(REDIRECTS).encode())
    return SiteManifest(pages=pages, redirects=dict(REDIRECTS))


# --- server -------------------------------------------------------------------------------


class _ShopHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    root: Path
    redirects: dict[str, str]

    def log_message(self, format: str, *args: object) -> None:
        """Stay quiet: tests read the pipeline's output, not the access log."""

    def do_GET(self) -> None:
        path, query = unquote(urlsplit(self.path).path), urlsplit(self.path).query
        prefix = "/" + path.split("/")[1] if path.count("/") > 1 else ""
        if path in self.redirects:
            self._send(302, b"", "text/plain", {"Location": self.redirects[path]})
        elif path == "/headers.json":
            self._send(200, json.dumps(dict(self.headers.items())).encode(), "application/json")
        elif path.startswith("/endless"):
            self._endless(path)
        elif prefix == "/stall":
            time.sleep(STALL_SECONDS)
            self._file(path.removeprefix(prefix))
        elif prefix == "/slow":
            self._file(path.removeprefix(prefix), trickle=True)
        elif prefix in ("/no-referer", "/referer-only") and bool(self.headers.get("Referer")) == (
            prefix == "/no-referer"
        ):
            self._send(403, b"hotlinking refused", "text/plain")
        else:
            self._file(
                path.removeprefix(prefix) if prefix in ("/no-referer", "/referer-only") else path, query
            )

    def _file(self, path: str, query: str = "", *, trickle: bool = False) -> None:
        target = served_file(self.root, path, query)
        if target is None:
            self._send(404, b"<html><body>not found</body></html>", "text/html")
            return
        body = target.read_bytes()
        if target.suffix == ".html":
            body = body.replace(b"__HOST__", (self.headers.get("Host") or "").encode())
        content_type = CONTENT_TYPES.get(target.suffix, "application/octet-stream")
        self._send(200, body, content_type, trickle=trickle)

    def _send(
        self,
        status: int,
        body: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
        *,
        trickle: bool = False,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        with contextlib.suppress(OSError):
            if not trickle:
                self.wfile.write(body)
                return
            for start in range(0, len(body), SLOW_CHUNK_BYTES):
                self.wfile.write(body[start : start + SLOW_CHUNK_BYTES])
                self.wfile.flush()
                time.sleep(SLOW_INTERVAL)

    def _endless(self, path: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", CONTENT_TYPES.get(Path(path).suffix, "text/html"))
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        chunk = b"<p>" + b"x" * 8192 + b"</p>"
        deadline = time.monotonic() + ENDLESS_LIMIT_SECONDS
        with contextlib.suppress(OSError):
            while time.monotonic() < deadline:
                self.wfile.write(chunk)


@dataclass(frozen=True)
class ServedSite:
    """A built site and where it is served: fixtures hand this to tests."""

    manifest: SiteManifest
    base_url: str
    root: Path

    def url(self, path: str) -> str:
        return self.base_url + path

    def file_bytes(self, url_or_path: str) -> bytes:
        """The bytes on disk behind an absolute URL or a server path (query ignored)."""
        return (self.root / site_path(url_or_path).split("?", maxsplit=1)[0].lstrip("/")).read_bytes()


class _ShopServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up mid-connection (a download given up, a pool closing) is no server error."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


@contextlib.contextmanager
def serve_site(root: Path, redirects: dict[str, str] | None = None, *, port: int = 0) -> Iterator[str]:
    """Serve `root` on 127.0.0.1 (`port`, ephemeral by default) in a thread; yields the base URL, stops on exit."""
    root = root.resolve()
    redirect_file = root / "_redirects.json"
    known = json.loads(redirect_file.read_text()) if redirect_file.exists() else {}
    handler = type(
        "ShopHandler", (_ShopHandler,), {"root": root, "redirects": {**known, **(redirects or {})}}
    )
    server = _ShopServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, name="shop-site", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
