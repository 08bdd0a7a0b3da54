"""What a download is, is decided by its bytes: Content-Type is neither trusted nor needed."""

from __future__ import annotations

import pytest

from backend.errors import ImageRejectedError
from tests.shopsite import encode, flat_image, jpeg, product_photo
from tests.worker.pipeline.hostile import Served, serve_hostile
from worker.pipeline.download import download_image, require_image_bytes, sniff
from worker.pipeline.types import Candidate

JPEG = jpeg(product_photo(7, (300, 300)))
PNG = encode(flat_image((300, 300), (10, 20, 30)), "PNG")
WEBP = encode(flat_image((300, 300), (10, 20, 30)), "WEBP")
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>'


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (JPEG, "image"),
        (PNG, "image"),
        (WEBP, "image"),
        (b"GIF89a\x01\x00\x01\x00", "image"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00", "image"),
        (b"\x00\x00\x01\x00\x01\x00", "image"),
        (SVG, "svg"),
        (b"  <svg viewBox='0 0 1 1'/>", "svg"),
        (b"<!DOCTYPE html><html></html>", "markup"),
        (b'{"error": "not found"}', "markup"),
        (b"Access denied", "text"),
        (b"", "empty"),
        (b"\x13\x37\xde\xad", "unknown"),
    ],
)
def test_sniff_reads_the_bytes(data, kind):
    """Raster magic numbers, SVG, markup, text and emptiness are told apart from the first bytes."""
    assert kind == sniff(data)


@pytest.mark.parametrize(
    ("data", "reason", "failed"),
    [
        (SVG, "svg", False),
        (b"<html>", "not_image", True),
        (b"", "empty", True),
        (b"Forbidden", "not_image", True),
    ],
)
def test_non_images_are_refused_whatever_they_claim(data, reason, failed):
    """Declared image/jpeg does not make HTML, text, SVG or nothing an image."""
    with pytest.raises(ImageRejectedError) as caught:
        require_image_bytes(data, "image/jpeg")
    assert (caught.value.reason, caught.value.failed) == (reason, failed)


@pytest.fixture
def mislabelled():
    corpus = {
        "/jpeg-as-html": Served(JPEG, "text/html"),
        "/png-as-svg": Served(PNG, "image/svg+xml"),
        "/jpeg-unlabelled": Served(JPEG, ""),
        "/html-as-png": Served(b"<!DOCTYPE html><p>hi</p>", "image/png"),
    }
    with serve_hostile(corpus, {}) as site:
        yield site


@pytest.mark.parametrize(
    ("path", "expected"), [("/jpeg-as-html", JPEG), ("/png-as-svg", PNG), ("/jpeg-unlabelled", JPEG)]
)
def test_images_with_wrong_content_types_are_downloaded(mislabelled, make_settings, http, path, expected):
    """A real image is kept whatever Content-Type its server sends."""
    candidate = Candidate(url=mislabelled.url(path), source="img", position=0)
    assert download_image(candidate, make_settings(), http, referer="") == expected


def test_html_labelled_as_png_is_not_an_image(mislabelled, make_settings, http):
    """An HTML page served as image/png fails as not_image."""
    candidate = Candidate(url=mislabelled.url("/html-as-png"), source="img", position=0)
    with pytest.raises(ImageRejectedError) as caught:
        download_image(candidate, make_settings(), http, referer="")
    assert (caught.value.reason, caught.value.failed) == ("not_image", True)
