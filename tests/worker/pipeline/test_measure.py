"""Measuring image bytes: format sniffing, sizes, EXIF orientation, features, hashes and hostile inputs."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib

import imagehash
import numpy as np
import pytest
from PIL import Image, ImageFilter, ImageStat

from backend.errors import ImageRejectedError
from tests.shopsite import encode, jpeg, lifestyle_photo, logo_image, product_photo
from worker.pipeline.measure import (
    DRAFT_SIDE,
    MAX_COUNTED_COLORS,
    MeasureMemo,
    band_statistics,
    border_mask,
    decode_reduced,
    edge_variance,
    load_upright,
    measure,
    refuse_bomb,
    simple_webp_size,
)
from worker.pipeline.score import GRAPHIC_MAX_COLORS


def png_header_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims a huge size; the pixel data is a few bytes (a decompression bomb)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def test_measure_jpeg(make_settings):
    """A JPEG is measured from its bytes: format, size, file size, hashes and features."""
    data = jpeg(product_photo(7, (640, 480)))
    info = measure(data, make_settings())
    assert (info.format, info.mime, info.width, info.height, info.file_size) == (
        "JPEG",
        "image/jpeg",
        640,
        480,
        len(data),
    )
    assert info.content_hash == hashlib.sha256(data).hexdigest()
    assert info.phash is not None
    assert len(info.phash) == 64
    assert set(info.features) >= {"sharpness", "border_plain", "border_std", "entropy", "colors", "frames"}


@pytest.mark.parametrize(
    ("image_format", "mime"), [("PNG", "image/png"), ("WEBP", "image/webp"), ("GIF", "image/gif")]
)
def test_format_is_sniffed_from_bytes(make_settings, image_format, mime):
    """PNG, WebP and GIF are recognised by content, whatever the URL said."""
    info = measure(encode(product_photo(8, (300, 300)), image_format), make_settings())
    assert (info.format, info.mime) == (image_format, mime)


def test_exif_orientation_swaps_reported_dimensions(make_settings):
    """A JPEG stored landscape with EXIF orientation 6 (rotate 90°) is reported portrait."""
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer_data = encode(product_photo(9, (400, 300)), "JPEG", exif=exif.tobytes())
    info = measure(buffer_data, make_settings())
    assert (info.width, info.height) == (300, 400)


def test_preview_is_upright_and_thumbnail_sized(make_settings):
    """The one decode also yields the thumbnail's source: upright (EXIF applied), at most 320 px.

    The 1600×1200 JPEG decodes at 1/8 (200×150), which is the preview as it is, then turned upright.
    """
    exif = Image.Exif()
    exif[0x0112] = 6
    info = measure(encode(product_photo(9, (1600, 1200)), "JPEG", exif=exif.tobytes()), make_settings())

    assert info.preview is not None
    assert info.preview.size == (150, 200)
    assert info.preview.mode == "RGB"


@pytest.mark.parametrize("size", [(2400, 600), (600, 2400), (1700, 1700), (1300, 900)])
def test_jpegs_decode_at_the_smallest_scale_keeping_the_long_side(size):
    """A wide banner decodes at 1/8 like a square photo of its long side, not at 1/2 for its short side."""
    data = encode(product_photo(3, size), "JPEG")
    with Image.open(io.BytesIO(data)) as image:
        upright = load_upright(image, data, frames=1, orientation=1)
        long_side = max(upright.size)

    assert DRAFT_SIDE <= long_side < 2 * DRAFT_SIDE
    assert upright.size[0] / upright.size[1] == pytest.approx(size[0] / size[1], rel=0.05)


def test_studio_shot_and_scene_features_differ(make_settings):
    """A product on white has a plain border; a lifestyle scene does not."""
    studio = measure(jpeg(product_photo(10, (600, 600))), make_settings()).features
    scene = measure(jpeg(lifestyle_photo(10, (600, 400))), make_settings()).features
    assert studio["border_plain"] > 0.95
    assert scene["border_plain"] < 0.75
    assert studio["border_brightness"] > 240


def test_blur_lowers_sharpness(make_settings):
    """Edge variance falls when the same photo is blurred."""
    photo = product_photo(11, (600, 600))
    sharp = measure(jpeg(photo), make_settings()).features["sharpness"]
    blurred = measure(jpeg(photo.filter(ImageFilter.GaussianBlur(6))), make_settings()).features["sharpness"]
    assert blurred < sharp / 2


def test_transparent_png_is_flattened_on_white(make_settings):
    """Transparency is measured, and the backdrop counts as plain white."""
    features = measure(encode(logo_image(), "PNG"), make_settings()).features
    assert features["transparent_fraction"] > 0.3
    assert features["border_brightness"] > 240
    assert features["colors"] < 64


def test_animated_gif_frames_are_counted(make_settings):
    """The frame count of an animation is recorded."""
    frames = [Image.new("RGB", (300, 300), color) for color in ("red", "blue", "green")]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:])
    assert measure(data, make_settings()).features["frames"] == 3


@pytest.mark.parametrize(("width", "height"), [(100_000, 100_000), (9_000, 9_000)])
def test_decompression_bomb_is_refused_before_decoding(make_settings, width, height):
    """A header claiming more than MAX_IMAGE_PIXELS is refused as a bomb (failed), both far above and just above."""
    with pytest.raises(ImageRejectedError) as caught:
        measure(png_header_claiming(width, height), make_settings(max_image_pixels=60_000_000))
    assert (caught.value.reason, caught.value.failed) == ("bomb", True)


def test_small_pixel_limit_applies_to_real_images(make_settings):
    """MAX_IMAGE_PIXELS is honoured for ordinary images too."""
    with pytest.raises(ImageRejectedError, match="bomb"):
        measure(jpeg(product_photo(12, (300, 300))), make_settings(max_image_pixels=50_000))


def test_refuse_bomb_checks_the_product_of_sides():
    """refuse_bomb passes at the limit and refuses above it."""
    refuse_bomb(1000, 1000, 1_000_000)
    with pytest.raises(ImageRejectedError, match="bomb"):
        refuse_bomb(1000, 1001, 1_000_000)


def test_truncated_jpeg_is_undecodable(make_settings):
    """A JPEG cut in half fails as undecodable (failed), not as a crash."""
    data = jpeg(product_photo(13, (600, 600)))
    with pytest.raises(ImageRejectedError) as caught:
        measure(data[: len(data) // 2], make_settings())
    assert (caught.value.reason, caught.value.failed) == ("undecodable", True)


@pytest.mark.parametrize(
    "data",
    [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n\x00\x00", b"<svg xmlns='http://www.w3.org/2000/svg'/>"],
)
def test_garbage_is_undecodable(make_settings, data):
    """Bytes Pillow cannot identify are undecodable."""
    with pytest.raises(ImageRejectedError, match="undecodable"):
        measure(data, make_settings())


def test_same_photo_resized_and_reencoded_keeps_its_phash(make_settings):
    """A WebP re-encode at a smaller size has nearly the same perceptual hash."""
    photo = product_photo(14, (1000, 1000))
    small = photo.resize((500, 500))
    first = measure(jpeg(photo), make_settings()).phash
    second = measure(encode(small, "WEBP", quality=75), make_settings()).phash
    assert first is not None
    assert second is not None
    assert imagehash.hex_to_hash(first) - imagehash.hex_to_hash(second) <= 4


def test_risky_decoders_are_never_tried(make_settings):
    """An EPS file (which Pillow would hand to Ghostscript) is undecodable, not opened."""
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 300 300\nshowpage\n"
    with pytest.raises(ImageRejectedError, match="undecodable"):
        measure(eps, make_settings())


def test_bmp_is_measured_and_left_to_the_format_rule(make_settings):
    """Harmless formats outside the kept set are measured so junk_reason can say unsupported_format."""
    assert measure(encode(product_photo(15, (300, 300)), "BMP"), make_settings()).format == "BMP"


@pytest.mark.parametrize("quality", [25, 50, 75, 92])
def test_jpeg_quality_is_estimated_from_the_quantization_table(make_settings, quality):
    """measure() reads the JPEG save quality back from its tables (within 2)."""
    data = jpeg(product_photo(3, (300, 300)), quality=quality)
    assert abs(measure(data, make_settings()).features["jpeg_quality"] - quality) <= 2


def test_png_has_no_jpeg_quality(make_settings):
    """Lossless images carry no jpeg_quality feature."""
    data = encode(product_photo(3, (300, 300)), "PNG")
    assert "jpeg_quality" not in measure(data, make_settings()).features


@pytest.mark.parametrize(
    ("mode", "image_format"),
    [("CMYK", "JPEG"), ("P", "PNG"), ("I;16", "PNG"), ("LA", "PNG"), ("L", "JPEG"), ("P", "GIF")],
)
def test_unusual_color_modes_are_measured(make_settings, mode, image_format):
    """CMYK JPEGs, palette, 16-bit and gray+alpha images decode to features and a phash."""
    photo = product_photo(4, (320, 240))
    if mode == "I;16":  # a real 16-bit range, 0-65535
        converted = photo.convert("L").point(lambda value: value * 257, "I").convert("I;16")
    else:
        converted = photo.convert(mode)
    measured = measure(encode(converted, image_format), make_settings())
    assert (measured.format, measured.width, measured.height) == (image_format, 320, 240)
    assert measured.phash is not None
    assert measured.features["sharpness"] > 0


def test_memo_measures_the_same_bytes_once(make_settings):
    """A job's second URL serving bytes it has measured gets the first measurement back, not a new decode."""
    settings = make_settings()
    memo = MeasureMemo()
    data = jpeg(product_photo(7, (900, 900)))
    first = memo.measure(data, settings)
    assert memo.measure(data, settings) is first
    assert first == measure(data, settings)
    assert memo.measure(jpeg(product_photo(8, (900, 900))), settings) is not first


def test_memo_does_not_remember_refused_bytes(make_settings):
    """Bytes that fail to measure raise every time they come."""
    memo = MeasureMemo()
    for _ in range(2):
        with pytest.raises(ImageRejectedError):
            memo.measure(b"\xff\xd8 not a jpeg", make_settings())


def test_large_flat_picture_counts_its_colors_on_a_sample(make_settings):
    """A full-size flat graphic counted on a nearest-neighbour sample keeps its few colors."""
    banner = Image.new("RGB", (2400, 1200), "white")
    banner.paste((200, 20, 20), (0, 0, 1200, 1200))
    info = measure(encode(banner, "PNG"), make_settings())
    assert info.features["colors"] == 2


def test_photo_color_count_stops_above_the_cap_graphic_rules_read_below(make_settings):
    """A photo's colors are counted only to just past MAX_COUNTED_COLORS, which stays above what the rules ask."""
    info = measure(jpeg(product_photo(5, (600, 480))), make_settings())
    assert info.features["colors"] == MAX_COUNTED_COLORS + 1
    assert MAX_COUNTED_COLORS > GRAPHIC_MAX_COLORS


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_edge_variance_is_pillows_find_edges_variance(seed):
    """edge_variance equals the variance of Pillow's FIND_EDGES filter, on photos and on flat graphics."""
    for picture in (product_photo(seed, (300, 240)), lifestyle_photo(seed, (256, 256)), logo_image()):
        gray = picture.convert("L")
        expected = ImageStat.Stat(gray.filter(ImageFilter.FIND_EDGES)).var[0]
        assert edge_variance(gray) == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_band_statistics_are_imagestats_mean_and_stddev(seed):
    """band_statistics gives ImageStat.Stat's per-band mean and stddev of the same masked histogram."""
    for picture in (product_photo(seed, (300, 240)), lifestyle_photo(seed, (256, 256)), logo_image()):
        rgb = picture.convert("RGB")
        mask = border_mask(rgb.size)
        stat = ImageStat.Stat(rgb, mask)
        means, deviations = band_statistics(rgb.histogram(mask))
        assert means.tolist() == pytest.approx(stat.mean, abs=1e-9)
        assert deviations.tolist() == pytest.approx(stat.stddev, abs=1e-6)


def _pillow_pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        return np.asarray(image)


@pytest.mark.parametrize(
    ("mode", "params"),
    [
        ("RGB", {"quality": 80}),
        ("RGBA", {"quality": 80}),
        ("RGBA", {"lossless": True}),
        ("RGB", {"lossless": True}),
    ],
)
def test_still_webp_decodes_to_the_pixels_pillow_gives(mode, params):
    """The libwebp array decode of a still WebP has exactly Pillow's pixels; an opaque one is read as RGBX."""
    photo = product_photo(5, (360, 280)).convert(mode)
    if mode == "RGBA":
        photo.putalpha(Image.linear_gradient("L").resize(photo.size))
    data = encode(photo, "WEBP", **params)
    with Image.open(io.BytesIO(data)) as image:
        decoded = load_upright(image, data, frames=1, orientation=1)
        assert decoded.format is None  # an array decode, not the image Pillow's plugin loaded
        assert image.mode == mode
        assert decoded.mode == ("RGBA" if mode == "RGBA" else "RGBX")
    assert np.array_equal(np.asarray(decoded.convert(mode)), _pillow_pixels(data))


def test_rgbx_reduces_to_what_its_rgb_copy_would():
    """An opaque WebP read in place as RGBX gives the features' copy, colors and preview of its RGB copy."""
    rgbx = product_photo(6, (900, 700)).convert("RGBX")
    for from_rgbx, from_rgb in zip(decode_reduced(rgbx), decode_reduced(rgbx.convert("RGB")), strict=True):
        if isinstance(from_rgbx, Image.Image):
            assert (from_rgbx.mode, from_rgbx.tobytes()) == (from_rgb.mode, from_rgb.tobytes())
        else:
            assert from_rgbx == from_rgb


@pytest.mark.parametrize(
    ("mode", "params", "simple"),
    [
        ("RGB", {"quality": 80}, True),  # one VP8 bitstream
        ("RGB", {"lossless": True}, True),  # one VP8L bitstream
        ("RGBA", {"lossless": True}, True),  # VP8L carries its alpha in the bitstream
        ("RGBA", {"quality": 80}, False),  # lossy alpha needs the extended header (VP8X + ALPH)
    ],
)
def test_simple_webp_is_measured_from_its_header_with_pillows_pixels(make_settings, mode, params, simple):
    """A simple-format WebP is sized from its bitstream header and measured as Pillow would measure it."""
    photo = product_photo(8, (360, 280)).convert(mode)
    if mode == "RGBA":
        photo.putalpha(Image.linear_gradient("L").resize(photo.size))
    data = encode(photo, "WEBP", **params)
    assert simple_webp_size(data) == ((360, 280) if simple else None)
    info = measure(data, make_settings())
    assert (info.format, info.width, info.height, info.features["frames"]) == ("WEBP", 360, 280, 1)
    with Image.open(io.BytesIO(data)) as image:
        expected = decode_reduced(load_upright(image, data, frames=1, orientation=1))[2]
    assert info.preview is not None
    assert info.preview.mode == expected.mode
    assert np.array_equal(np.asarray(info.preview), np.asarray(expected))


def test_extended_webps_are_not_simple():
    """Animated and EXIF-carrying WebPs have the extended header, so Pillow reads their frames and orientation."""
    frames = [Image.new("RGB", (300, 200), color) for color in ("red", "blue")]
    exif = Image.Exif()
    exif[0x0112] = 6
    assert simple_webp_size(encode(frames[0], "WEBP", save_all=True, append_images=frames[1:])) is None
    assert simple_webp_size(encode(product_photo(6, (400, 300)), "WEBP", exif=exif.tobytes())) is None


def test_simple_webp_claiming_too_many_pixels_is_a_bomb(make_settings):
    """A simple WebP whose bitstream header claims 16383×16383 is refused as a bomb before decoding."""
    data = bytearray(encode(product_photo(9, (64, 48)), "WEBP", quality=80))
    assert data[12:16] == b"VP8 "
    data[26:30] = struct.pack("<HH", 0x3FFF, 0x3FFF)
    with pytest.raises(ImageRejectedError) as caught:
        measure(bytes(data), make_settings())
    assert caught.value.reason == "bomb"


def test_animated_and_rotated_webps_are_measured(make_settings):
    """An animated WebP counts its frames; a WebP with EXIF orientation 6 is reported portrait."""
    frames = [Image.new("RGB", (300, 200), color) for color in ("red", "blue")]
    animated = encode(frames[0], "WEBP", save_all=True, append_images=frames[1:])
    assert measure(animated, make_settings()).features["frames"] == 2
    exif = Image.Exif()
    exif[0x0112] = 6
    rotated = measure(encode(product_photo(6, (400, 300)), "WEBP", exif=exif.tobytes()), make_settings())
    assert (rotated.width, rotated.height) == (300, 400)
    assert rotated.preview is not None
    assert rotated.preview.size == (240, 320)


def _cut_short(data: bytes) -> bytes:
    return data[: len(data) // 2]


def _scrambled_bitstream(data: bytes) -> bytes:
    """The container and frame header intact (Pillow opens it), the coded picture after them not."""
    start = data.index(b"VP8 ") + 8 + 10
    return data[:start] + b"\xff" * 30 + data[start + 30 :]


@pytest.mark.parametrize("damage", [_cut_short, _scrambled_bitstream])
def test_damaged_webp_is_undecodable(make_settings, damage):
    """A WebP cut short (refused on opening) or with a scrambled bitstream (refused by the array decode) is undecodable."""
    data = damage(encode(product_photo(7, (400, 300)), "WEBP", quality=80))
    with pytest.raises(ImageRejectedError) as caught:
        measure(data, make_settings())
    assert caught.value.reason == "undecodable"
