"""CDN upsizing end to end: the full-size URL wins when it exists, the original stands in when it does not."""

from __future__ import annotations

from pathlib import Path

from tests.shopsite import jpeg, product_photo, serve_site, site_path
from worker.pipeline import run_pipeline

PAGE = '<!DOCTYPE html><html><body><main><img src="/cdn/shop/products/{name}_300x.jpg" alt="Mug"></main></body></html>'


def write(root: Path, path: str, data: bytes) -> None:
    target = root / path.lstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


def test_full_size_copy_replaces_the_thumbnail(tmp_path, make_settings):
    """When the size-free URL exists it is kept, and the 300 px variant is a duplicate."""
    photo = product_photo(21, (1200, 1200))
    write(tmp_path, "/cdn/shop/products/mug_300x.jpg", jpeg(photo.resize((300, 300))))
    write(tmp_path, "/cdn/shop/products/mug.jpg", jpeg(photo))
    write(tmp_path, "/p.html", PAGE.format(name="mug").encode())
    with serve_site(tmp_path) as base_url:
        result = run_pipeline(base_url + "/p.html", make_settings(), max_images=5)
    assert [site_path(image.candidate.url) for image in result.kept] == ["/cdn/shop/products/mug.jpg"]
    assert result.kept[0].info.width == 1200
    assert [skip.reason for skip in result.skipped] == ["duplicate"]


def test_original_is_the_fallback_when_the_upsized_url_fails(tmp_path, make_settings):
    """A 404 on the upsized URL is a failed skip; the original variant is still kept."""
    write(tmp_path, "/cdn/shop/products/cup_300x.jpg", jpeg(product_photo(22, (300, 300))))
    write(tmp_path, "/p.html", PAGE.format(name="cup").encode())
    with serve_site(tmp_path) as base_url:
        result = run_pipeline(base_url + "/p.html", make_settings(), max_images=5)
    assert [site_path(image.candidate.url) for image in result.kept] == ["/cdn/shop/products/cup_300x.jpg"]
    assert [(skip.reason, skip.failed) for skip in result.skipped] == [("http_error", True)]
