"""`python -m backend.demoshop --port N`: a small shop to scrape on a machine with no internet.

`make run` starts it beside the API (on PORT+1) and lets the scraper reach its origin, and
only its origin, through SCRAPER_ALLOWED_ORIGINS. Three product pages, each shaped like a
real shop's: a hero in `og:image` and JSON-LD, a gallery of studio shots, a lifestyle scene,
and the chrome a scraper must leave out (logo, icons, payment badges). The photographs are
drawn by `backend.pictures` on first request and kept in memory; nothing is written to disk.
"""

from __future__ import annotations

import argparse
import functools
import html
import io
import json
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType

from PIL import Image, ImageDraw

from backend.pictures import lifestyle_photo, product_photo


@dataclass(frozen=True)
class Product:
    slug: str
    name: str
    price: str
    blurb: str
    seed: int


PRODUCTS = (
    Product(
        "espresso-machine", "Espresso Machine", "349.00", "Pump espresso at 15 bar, steam wand included.", 100
    ),
    Product("tea-kettle", "Stovetop Tea Kettle", "59.00", "Two litres of brushed steel that whistles.", 200),
    Product("ceramic-mug", "Ceramic Mug", "18.00", "Stoneware, glazed by hand, 350 ml.", 300),
)
# name → (kind, size): the gallery in page order; the first is the hero.
SHOTS = {
    "front": ("product", (1200, 1200)),
    "side": ("product", (1000, 1000)),
    "back": ("product", (1000, 1000)),
    "detail": ("product", (1000, 1000)),
    "kitchen": ("lifestyle", (1200, 800)),
}
JPEG = "image/jpeg"
PNG = "image/png"
HTML = "text/html; charset=utf-8"


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=88)
    return buffer.getvalue()


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _logo() -> bytes:
    logo = Image.new("RGBA", (180, 48), (0, 0, 0, 0))
    draw = ImageDraw.Draw(logo)
    draw.ellipse((4, 4, 44, 44), fill=(160, 60, 30, 255))
    draw.rectangle((56, 16, 172, 32), fill=(40, 40, 40, 255))
    return _png(logo)


def _icon(shade: int) -> bytes:
    icon = Image.new("RGBA", (24, 24), (0, 0, 0, 0))
    ImageDraw.Draw(icon).ellipse((3, 3, 21, 21), outline=(shade, shade, shade, 255), width=3)
    return _png(icon)


def _photo(product: Product, shot: str) -> bytes:
    kind, size = SHOTS[shot]
    seed = product.seed + list(SHOTS).index(shot)
    return _jpeg(lifestyle_photo(seed, size) if kind == "lifestyle" else product_photo(seed, size))


def _image_url(product: Product, shot: str) -> str:
    return f"/images/{product.slug}/{shot}.jpg"


HEADER = (
    '<header><a href="/"><img src="/static/logo.png" alt="Demo Kitchen Shop" width="180" height="48"></a>'
    '<nav><img src="/static/search.png" alt="Search" width="24"><img src="/static/cart.png" alt="Cart" width="24">'
    "</nav></header>"
)
FOOTER = '<footer><img src="/static/payments.png" alt="We accept cards" width="120"><p>Demo shop</p></footer>'


def _page(title: str, head: str, body: str) -> str:
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">{head}</head>'
        f"<body>{HEADER}<main>{body}</main>{FOOTER}</body></html>"
    )


def product_page(product: Product) -> str:
    """A product page: hero in og:image and JSON-LD, the gallery as <img>, the scene as a banner."""
    name = html.escape(product.name)
    shots = [shot for shot, (kind, _) in SHOTS.items() if kind == "product"]
    scene = next(shot for shot, (kind, _) in SHOTS.items() if kind == "lifestyle")
    data = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": product.name,
        "image": [_image_url(product, shot) for shot in shots],
        "offers": {"@type": "Offer", "price": product.price, "priceCurrency": "EUR"},
    }
    head = (
        f'<meta property="og:image" content="{_image_url(product, shots[0])}">'
        f'<script type="application/ld+json">{json.dumps(data)}</script>'
    )
    gallery = "".join(
        f'<img src="{_image_url(product, shot)}" alt="{name}, {shot}" width="{SHOTS[shot][1][0]}">'
        for shot in shots
    )
    body = (
        f'<h1>{name}</h1><p class="price">€{product.price}</p><p>{html.escape(product.blurb)}</p>'
        f'<div class="product-gallery">{gallery}</div>'
        f'<section class="story"><img src="{_image_url(product, scene)}" alt="{name} in a kitchen">'
        "<h2>Made for mornings</h2></section>"
    )
    return _page(product.name, head, body)


def index_page() -> str:
    links = "".join(
        f'<li><a href="/products/{product.slug}">{html.escape(product.name)}</a> €{product.price}</li>'
        for product in PRODUCTS
    )
    return _page("Demo Kitchen Shop", "", f"<h1>Demo Kitchen Shop</h1><ul>{links}</ul>")


def _routes() -> dict[str, tuple[str, Callable[[], bytes]]]:
    routes: dict[str, tuple[str, Callable[[], bytes]]] = {
        "/": (HTML, lambda: index_page().encode()),
        "/static/logo.png": (PNG, _logo),
        "/static/search.png": (PNG, lambda: _icon(60)),
        "/static/cart.png": (PNG, lambda: _icon(90)),
        "/static/payments.png": (PNG, lambda: _png(Image.new("RGB", (120, 24), (230, 230, 230)))),
    }
    for product in PRODUCTS:
        routes[f"/products/{product.slug}"] = (
            HTML,
            functools.partial(lambda p: product_page(p).encode(), product),
        )
        for shot in SHOTS:
            routes[_image_url(product, shot)] = (JPEG, functools.partial(_photo, product, shot))
    return routes


ROUTES = _routes()


@functools.cache
def body_of(path: str) -> bytes:
    """A route's bytes, made on first request and kept (the pictures take a moment to draw)."""
    return ROUTES[path][1]()


class DemoShopHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the dev server's terminal is for what matters."""

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path not in ROUTES:
            self._answer(404, HTML, b"<!DOCTYPE html><title>Not found</title><h1>Not found</h1>")
            return
        self._answer(200, ROUTES[path][0], body_of(path))

    def _answer(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def make_server(port: int) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), DemoShopHandler)
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m backend.demoshop", description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    server = make_server(args.port)

    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
