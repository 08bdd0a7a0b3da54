"""Image downloads against the loopback shop site: bytes, limits, redirects, Referer handling."""

from __future__ import annotations

import time

import pytest

from backend.errors import ImageRejectedError
from worker.pipeline.download import download_image
from worker.pipeline.types import Candidate


def candidate(url: str) -> Candidate:
    return Candidate(url=url, source="img", position=0)


def rejected(shop_site, make_settings, http, path: str, **overrides) -> ImageRejectedError:
    with pytest.raises(ImageRejectedError) as caught:
        download_image(
            candidate(shop_site.url(path)), make_settings(**overrides), http, referer=shop_site.base_url + "/"
        )
    return caught.value


def test_download_returns_the_exact_bytes(shop_site, make_settings, http):
    """The image comes back byte for byte as served."""
    data = download_image(candidate(shop_site.url("/img/basic/hero.jpg")), make_settings(), http, referer="")
    assert data == shop_site.file_bytes("/img/basic/hero.jpg")


def test_download_follows_redirects(shop_site, make_settings, http):
    """A redirected image URL is followed to its bytes."""
    data = download_image(candidate(shop_site.url("/img/go/photo-e.jpg")), make_settings(), http, referer="")
    assert data == shop_site.file_bytes("/assets/base/photo-e.jpg")


def test_download_sends_the_page_as_referer(shop_site, make_settings, http):
    """Hotlink guards that need a Referer get the page URL."""
    page = shop_site.url("/products/basic.html")
    data = download_image(
        candidate(shop_site.url("/referer-only/img/basic/side.jpg")), make_settings(), http, referer=page
    )
    assert data == shop_site.file_bytes("/img/basic/side.jpg")


def test_download_retries_without_referer_after_403(shop_site, make_settings, http):
    """A 403 caused by the Referer is retried once without it."""
    page = shop_site.url("/products/basic.html")
    data = download_image(
        candidate(shop_site.url("/no-referer/img/basic/side.jpg")), make_settings(), http, referer=page
    )
    assert data == shop_site.file_bytes("/img/basic/side.jpg")


def test_download_byte_cap_by_declared_length(shop_site, make_settings, http):
    """An image larger than MAX_IMAGE_BYTES is refused as too_large (failed)."""
    error = rejected(shop_site, make_settings, http, "/img/basic/hero.jpg", max_image_bytes=1024)
    assert (error.reason, error.failed) == ("too_large", True)


def test_download_byte_cap_on_an_endless_stream(shop_site, make_settings, http):
    """A body without Content-Length is cut off at the cap instead of read to the end."""
    started = time.monotonic()
    error = rejected(shop_site, make_settings, http, "/endless.jpg", max_image_bytes=32 * 1024)
    assert error.reason == "too_large"
    assert time.monotonic() - started < 2


def test_download_404_fails(shop_site, make_settings, http):
    """A missing image is http_error with the status in the detail."""
    error = rejected(shop_site, make_settings, http, "/img/basic/missing.jpg")
    assert (error.reason, error.detail, error.failed) == ("http_error", "HTTP 404", True)


def test_download_of_html_fails_as_not_image(shop_site, make_settings, http):
    """An HTML answer where an image was expected is not_image."""
    error = rejected(shop_site, make_settings, http, "/products/basic.html")
    assert (error.reason, error.failed) == ("not_image", True)


def test_download_of_svg_is_a_deliberate_skip(shop_site, make_settings, http):
    """An SVG response is skipped (not failed): vector images are not kept."""
    error = rejected(shop_site, make_settings, http, "/static/social/facebook.svg")
    assert (error.reason, error.failed) == ("svg", False)


def test_download_timeout(shop_site, make_settings, http):
    """A trickling image server fails with timeout inside the deadline."""
    started = time.monotonic()
    error = rejected(shop_site, make_settings, http, "/slow/img/basic/side.jpg", scraper_timeout=0.5)
    assert (error.reason, error.failed) == ("timeout", True)
    assert time.monotonic() - started < 2


def test_download_redirect_hops_are_checked(shop_site, make_settings, http):
    """A redirect to a refused scheme is invalid_url, never followed."""
    assert rejected(shop_site, make_settings, http, "/go/file").reason == "invalid_url"


def test_download_of_private_address_is_blocked(shop_site, make_settings, http):
    """Without SCRAPER_ALLOW_PRIVATE an image on loopback is blocked_url."""
    error = rejected(shop_site, make_settings, http, "/img/basic/hero.jpg", scraper_allow_private=False)
    assert (error.reason, error.failed) == ("blocked_url", True)
