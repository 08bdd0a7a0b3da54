"""A hostile shop site for tests: broken, lying, enormous and never-ending images, served on loopback.

`hostile_corpus()` builds every image in memory (deterministic, a second or so);
`serve_hostile(corpus)` serves them on 127.0.0.1 and records every path requested. Each
entry of `HOSTILE_IMAGES` is a path on the page and what the scraper must make of it:
"kept" for good images in unusual encodings (CMYK JPEG, 16-bit PNG, animated GIF/WebP),
else the skip reason and whether it counts as failed (True) or deliberately skipped (False).
"""

from __future__ import annotations

import contextlib
import io
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image

from tests.shopsite import encode, jpeg, lifestyle_photo, product_photo

ONE_GB = 1024**3
NEVER_SECONDS = 30.0  # "never": far beyond any scraper timeout a test sets
ENDLESS_CHUNK = b"\xff" * 65536

# path -> "kept" | (reason, failed)
HOSTILE_IMAGES: dict[str, str | tuple[str, bool]] = {
    "/img/good.jpg": "kept",
    "/img/cmyk.jpg": "kept",
    "/img/rgb16.png": "kept",
    "/img/animated.gif": "kept",
    "/img/animated.webp": "kept",
    "/img/truncated.jpg": ("undecodable", True),
    "/img/truncated.png": ("undecodable", True),
    "/img/zero.jpg": ("empty", True),
    "/img/html-as-jpeg.jpg": ("not_image", True),
    "/img/liar-1gb.jpg": ("too_large", True),
    "/img/endless.jpg": ("too_large", True),
    "/img/bomb.png": ("bomb", True),
    "/img/bomb.gif": ("bomb", True),
    "/img/favicon.ico": ("icon", False),
    "/img/external-refs.jpg": ("svg", False),
    "/img/loop/a.jpg": ("download_failed", True),
    "/img/missing.jpg": ("http_error", True),
    "/img/never.jpg": ("timeout", True),
    "/img/garbage.jpg": ("undecodable", True),
}
SVG_REFERENCE = "/svg-external-target.png"


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )


def png_rgb16(image: Image.Image) -> bytes:
    """A 48-bit (16 bits per channel) RGB PNG, written by hand: Pillow cannot save one."""
    width, height = image.size
    pixels = image.convert("RGB").tobytes()
    raw = bytearray()
    for row in range(height):
        raw.append(0)  # filter type None
        line = pixels[row * width * 3 : (row + 1) * width * 3]
        raw += b"".join(struct.pack(">H", value * 257) for value in line)
    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", zlib.compress(bytes(raw), 6))
        + png_chunk(b"IEND", b"")
    )


def png_bomb(side: int = 100_000) -> bytes:
    """A few hundred bytes claiming side×side pixels: one compressed row of zeros, then nothing."""
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    body = zlib.compress(b"\x00" * (side + 1))
    return (
        b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", body) + png_chunk(b"IEND", b"")
    )


def gif_bomb(side: int = 65_535) -> bytes:
    """A GIF whose screen and only frame both claim side×side pixels, with one byte of image data."""
    screen = b"GIF89a" + struct.pack("<HH", side, side) + b"\x80\x00\x00" + b"\x00\x00\x00\xff\xff\xff"
    frame = b"\x2c" + struct.pack("<HHHH", 0, 0, side, side) + b"\x00" + b"\x02\x02\x44\x01\x00"
    return screen + frame + b"\x3b"


def animated(image_format: str, seeds: tuple[int, ...], **params: object) -> bytes:
    frames = [product_photo(seed, (600, 600)) for seed in seeds]
    buffer = io.BytesIO()
    frames[0].save(
        buffer, image_format, save_all=True, append_images=frames[1:], duration=200, loop=0, **params
    )
    return buffer.getvalue()


SVG_WITH_EXTERNAL_REFS = (
    '<?xml version="1.0"?><!DOCTYPE svg [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="800" height="800">'
    '<image href="__BASE__' + SVG_REFERENCE + '" width="800" height="800"/>'
    '<image xlink:href="http://169.254.169.254/latest/meta-data/" width="1" height="1"/>'
    "<text>&xxe;</text></svg>"
)


@dataclass(frozen=True)
class Served:
    body: bytes
    content_type: str
    status: int = 200


def hostile_corpus() -> dict[str, Served]:
    """Every static response of the hostile site, by path."""
    good = jpeg(product_photo(100, (1000, 1000)))
    png = encode(product_photo(108, (700, 700)), "PNG")
    return {
        "/img/good.jpg": Served(good, "image/jpeg"),
        "/img/cmyk.jpg": Served(
            encode(product_photo(101, (800, 800)).convert("CMYK"), "JPEG", quality=88), "image/jpeg"
        ),
        "/img/rgb16.png": Served(png_rgb16(product_photo(102, (600, 600))), "image/png"),
        "/img/animated.gif": Served(animated("GIF", (103, 104, 105)), "image/gif"),
        "/img/animated.webp": Served(animated("WEBP", (106, 107), quality=80), "image/webp"),
        "/img/truncated.jpg": Served(jpeg(lifestyle_photo(109, (900, 600)))[:20_000], "image/jpeg"),
        "/img/truncated.png": Served(png[: len(png) // 2], "image/png"),
        "/img/zero.jpg": Served(b"", "image/jpeg"),
        "/img/html-as-jpeg.jpg": Served(b"<!DOCTYPE html><html><body>Not found</body></html>", "image/jpeg"),
        "/img/bomb.png": Served(png_bomb(), "image/png"),
        "/img/bomb.gif": Served(gif_bomb(), "image/gif"),
        "/img/favicon.ico": Served(
            encode(product_photo(110, (256, 256)), "ICO", sizes=[(64, 64)]), "image/x-icon"
        ),
        "/img/external-refs.jpg": Served(SVG_WITH_EXTERNAL_REFS.encode(), "image/jpeg"),
        "/img/garbage.jpg": Served(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40, "image/jpeg"),
        SVG_REFERENCE: Served(good, "image/png"),
    }


def hostile_page(extra_html: str = "") -> bytes:
    """A product page (with malformed markup) referencing every hostile image."""
    images = "".join(
        f'<img src="{path}" alt="Product view {index}">' for index, path in enumerate(HOSTILE_IMAGES)
    )
    return (
        "<!DOCTYPE html><html><head><title>Hostile</title>"
        '<meta property="og:image" content="/img/good.jpg"></head>'
        f'<body><div class="product-gallery">{images}</div>'
        "<p><b><i>unclosed <table><tr><td>cells <div></span></p>"
        '<img src="/img/good.jpg" <<>> alt="broken attribute">'
        f"{extra_html}<!-- unterminated comment"
    ).encode()


@dataclass
class HostileSite:
    base_url: str
    requested: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.base_url + path


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    corpus: dict[str, Served]
    pages: dict[str, bytes]
    site: HostileSite
    stop: threading.Event

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        self.site.requested.append(path)
        with contextlib.suppress(OSError):
            self._answer(path)

    def _answer(self, path: str) -> None:
        if path in self.pages:
            self._send(
                200,
                "text/html; charset=utf-8",
                self.pages[path].replace(b"__BASE__", self.site.base_url.encode()),
            )
        elif path in self.corpus:
            served = self.corpus[path]
            body = served.body.replace(b"__BASE__", self.site.base_url.encode())
            self._send(served.status, served.content_type, body)
        elif path == "/img/loop/a.jpg":
            self._send(302, "text/plain", b"", {"Location": "/img/loop/b.jpg"})
        elif path == "/img/loop/b.jpg":
            self._send(302, "text/plain", b"", {"Location": "/img/loop/a.jpg"})
        elif path == "/img/never.jpg":
            self.stop.wait(NEVER_SECONDS)
        elif path == "/img/liar-1gb.jpg":
            self._liar()
        elif path == "/img/endless.jpg":
            self._endless()
        else:
            self._send(404, "text/html", b"<html><body>404</body></html>")

    def _send(
        self, status: int, content_type: str, body: bytes, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _liar(self) -> None:
        """Claims 1 GB, sends a JPEG header, then dawdles."""
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(ONE_GB))
        self.end_headers()
        self.wfile.write(b"\xff\xd8\xff\xe0")
        self.wfile.flush()
        self.stop.wait(NEVER_SECONDS)

    def _endless(self) -> None:
        """A JPEG start, then bytes with no Content-Length until the client hangs up."""
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        self.wfile.write(b"\xff\xd8\xff\xe0")
        deadline = time.monotonic() + NEVER_SECONDS
        while time.monotonic() < deadline and not self.stop.is_set():
            self.wfile.write(ENDLESS_CHUNK)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients hanging up on the liar and the endless stream is the point; stay quiet."""


@contextlib.contextmanager
def serve_hostile(corpus: dict[str, Served], pages: dict[str, bytes]) -> Iterator[HostileSite]:
    """Serve the corpus and pages on 127.0.0.1 in a thread; stalled handlers are released on exit."""
    stop = threading.Event()
    site = HostileSite(base_url="")
    handler = type("Handler", (_Handler,), {"corpus": corpus, "pages": pages, "site": site, "stop": stop})
    server = _Server(("127.0.0.1", 0), handler)
    site.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="hostile-site", daemon=True)
    thread.start()
    try:
        yield site
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
