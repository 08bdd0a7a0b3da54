"""upload_images on the real S3 server: each original gets a thumbnail beside it, and the row carries both."""

from __future__ import annotations

import dataclasses
import uuid
from io import BytesIO

from PIL import Image

from backend.models import ImageType
from worker.pipeline.measure import measure
from worker.pipeline.store import THUMBNAIL_MAX_SIDE, image_row, make_thumbnail, upload_images
from worker.pipeline.types import Candidate, ImageInfo, RankedImage


def encode(image: Image.Image, fmt: str, **options) -> bytes:
    out = BytesIO()
    image.save(out, format=fmt, **options)
    return out.getvalue()


def ranked(data: bytes, settings, info: ImageInfo | None = None) -> RankedImage:
    return RankedImage(
        candidate=Candidate(url="http://shop.test/a.jpg", source="img", position=0, alt="A jar"),
        body=data,
        info=info or measure(data, settings),
        quality_score=81.234,
        image_type=ImageType.PRODUCT,
        is_hero=False,
        is_product=True,
        is_lifestyle=False,
    )


def s3_object(s3_server, key: str) -> tuple[bytes, str]:
    found = s3_server.client().get_object(Bucket=s3_server.bucket, Key=key)
    return found["Body"].read(), found["ContentType"]


def test_upload_stores_original_and_a_jpeg_thumbnail_on_s3(settings, store, s3_server):
    """The original keeps its bytes; beside it a JPEG of at most 320 px on the long side, typed image/jpeg.

    The 1600×1000 JPEG was decoded at 1/8 for measuring: that 200×125 copy is the thumbnail.
    """
    campaign_id = uuid.uuid4()
    data = encode(Image.new("RGB", (1600, 1000), (200, 40, 40)), "JPEG", quality=90)
    image = ranked(data, settings)

    [stored] = upload_images(store, campaign_id, [image])

    thumb_key = f"campaigns/{campaign_id}/thumbs/{image.info.content_hash}.jpg"
    assert stored.thumbnail_key == thumb_key
    assert stored.thumbnail_url == f"https://cdn.example.test/{thumb_key}"
    assert sorted(s3_server.object_keys()) == sorted([stored.key, thumb_key])
    assert s3_object(s3_server, stored.key)[0] == data
    body, content_type = s3_object(s3_server, thumb_key)
    assert content_type == "image/jpeg"
    with Image.open(BytesIO(body)) as thumb:
        assert (thumb.format, thumb.size) == ("JPEG", (200, 125))
    row = image_row(stored, campaign_id=campaign_id, job_id=uuid.uuid4(), rank=0)
    assert (row["thumbnail_key"], row["thumbnail_url"]) == (thumb_key, stored.thumbnail_url)
    assert row["storage_key"] == stored.key and row["cdn_url"] == stored.url


def test_thumbnail_of_a_tall_image_is_bounded_by_its_height():
    """The long side is the one capped, whichever it is."""
    thumb = make_thumbnail(encode(Image.new("RGB", (500, 1000), "white"), "PNG"))
    with Image.open(BytesIO(thumb.data)) as image:
        assert image.size == (160, THUMBNAIL_MAX_SIDE)


def test_small_images_are_not_upscaled():
    """An image already under the cap keeps its size in the thumbnail."""
    thumb = make_thumbnail(encode(Image.new("RGB", (240, 200), "blue"), "JPEG"))
    with Image.open(BytesIO(thumb.data)) as image:
        assert image.size == (240, 200)


def test_transparent_png_keeps_its_alpha():
    """A cut-out product on a transparent backdrop stays transparent in its thumbnail."""
    source = Image.new("RGBA", (800, 800), (0, 0, 0, 0))
    source.paste((10, 120, 10, 255), (200, 200, 600, 600))
    thumb = make_thumbnail(encode(source, "PNG"))
    assert (thumb.mime, thumb.extension) == ("image/webp", "webp")
    with Image.open(BytesIO(thumb.data)) as image:
        assert image.mode == "RGBA"
        assert image.getpixel((0, 0))[3] == 0
        assert image.getpixel((160, 160))[3] == 255


def test_transparent_image_gets_a_webp_thumbnail_on_s3(settings, store, s3_server):
    """An image with transparent pixels gets its thumbnail as a WebP (image/webp), the one format of the two with alpha."""
    campaign_id = uuid.uuid4()
    source = Image.new("RGBA", (900, 600), (0, 0, 0, 0))
    source.paste((200, 30, 30, 255), (100, 100, 800, 500))
    image = ranked(encode(source, "PNG"), settings)

    [stored] = upload_images(store, campaign_id, [image])

    assert stored.thumbnail_key == f"campaigns/{campaign_id}/thumbs/{image.info.content_hash}.webp"
    body, content_type = s3_object(s3_server, stored.thumbnail_key)
    assert content_type == "image/webp"
    with Image.open(BytesIO(body)) as thumb:
        assert (thumb.format, thumb.mode, thumb.getpixel((0, 0))[3]) == ("WEBP", "RGBA", 0)


def test_opaque_png_with_an_alpha_channel_gets_a_jpeg_thumbnail():
    """An alpha channel that is opaque everywhere has nothing to keep: the thumbnail is a JPEG."""
    thumb = make_thumbnail(encode(Image.new("RGBA", (400, 400), (10, 20, 30, 255)), "PNG"))
    assert (thumb.mime, thumb.extension) == ("image/jpeg", "jpg")


def test_exif_rotated_jpeg_thumbnail_is_upright():
    """A camera JPEG stored sideways with an EXIF orientation gets an upright thumbnail."""
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    data = encode(Image.new("RGB", (1200, 600), "gray"), "JPEG", exif=exif.tobytes())
    with Image.open(BytesIO(make_thumbnail(data).data)) as image:
        assert image.size == (160, THUMBNAIL_MAX_SIDE)


def test_unreadable_bytes_store_the_original_without_a_thumbnail(settings, store, s3_server):
    """If Pillow cannot make a thumbnail the image is still kept; the row's thumbnail fields are null."""
    campaign_id = uuid.uuid4()
    real = measure(encode(Image.new("RGB", (400, 300), "red"), "JPEG"), settings)
    # No preview from measure(): the thumbnail must come from these (unreadable) bytes.
    image = ranked(b"\xff\xd8 not really a jpeg", settings, info=dataclasses.replace(real, preview=None))

    [stored] = upload_images(store, campaign_id, [image])

    assert stored.thumbnail_key is None and stored.thumbnail_url is None
    assert s3_server.object_keys() == [stored.key]
    row = image_row(stored, campaign_id=campaign_id, job_id=uuid.uuid4(), rank=0)
    assert row["thumbnail_key"] is None and row["thumbnail_url"] is None
