"""Measure downloaded image bytes with Pillow: sniffed format, header size, a cheap decode, features and hashes.

The size is read from the header and refused (`bomb`) above MAX_IMAGE_PIXELS before any
pixel is decoded. The image is decoded once, and cheaply: JPEGs at reduced scale (draft
mode, the long side no smaller than DRAFT_SIDE; a progressive JPEG at 1/8 scale from only the
scans that scale reads, jpegscans.py), still WebPs by libwebp into an array Pillow reads in
place (see `load_upright` and `webp_image`; a simple-format WebP is sized from its header
without Pillow opening it, see `simple_webp_size`), and that decode gives both the copy of at
most FEATURE_SIDE the features are computed on and the `preview` (at most PREVIEW_SIDE) the
stored thumbnail is made from. The bytes themselves are never changed; `content_hash` is their
SHA-256. Only the decoders in OPENED_FORMATS are tried; anything else is `undecodable`.

Features (all on the reduced copy, transparent pixels composited on white):
- sharpness: variance of an edge filter (FIND_EDGES) on grayscale; blurry or flat images score low.
- border_brightness / border_std: mean and spread of the outer band.
- border_plain: share of the outer band within PLAIN_TOLERANCE gray levels of its median;
  a studio backdrop is near 1.0 even where the product touches an edge, a scene is not.
- entropy: grayscale histogram entropy (bits); flat placeholders are near zero.
- colors: distinct colors of the decoded image (before shrinking; over COLOR_SAMPLE_SIDE, of a
  nearest-neighbour sample), capped above MAX_COUNTED_COLORS; flat graphics have few.
- transparent_fraction: share of (almost) transparent pixels.
- frames: frame count (animated GIF/WebP spinners).
- jpeg_quality: the libjpeg quality (1–100) the JPEG was saved at, estimated from its
  luminance quantization table against the standard one (`estimate_jpeg_quality`);
  absent for other formats.
"""

from __future__ import annotations

import contextlib
import hashlib
import struct
import threading
import warnings
from io import BytesIO
from typing import Any, cast

import numpy as np
from imagecodecs import webp_decode
from PIL import ExifTags, Image, ImageOps

from backend.errors import ImageRejectedError
from backend.settings import Settings
from worker.pipeline.decode_budget import BYTES_PER_PIXEL, process_budget
from worker.pipeline.jpegscans import eighth_scale_scans
from worker.pipeline.phash import phash_hex
from worker.pipeline.types import ImageInfo

FEATURE_SIDE = 256
PREVIEW_SIDE = 320  # the stored thumbnail's longest side (store.THUMBNAIL_MAX_SIDE)
# JPEGs decode at 1/2…1/8 scale down to this long side: a 1200–2000 px photo comes out 200–300 px,
# near FEATURE_SIDE and below PREVIEW_SIDE, so it needs no resampling at all.
DRAFT_SIDE = 200
BORDER_FRACTION = 0.06
# Four times score.GRAPHIC_MAX_COLORS, the largest count a rule asks about. Pillow's getcolors stops
# once it passes the cap and holds the GIL meanwhile, so a low cap is cheaper (bench/results.md).
MAX_COUNTED_COLORS = 256
HUGE_PIXELS = 16_000_000  # above this a decoded picture is reduced in place before any copy (shrink_huge)
REDUCIBLE_MODES = frozenset({"L", "LA", "RGB", "RGBA", "RGBX"})
REDUCE_STRIP_ROWS = 16
COLOR_SAMPLE_SIDE = 640  # a full-size PNG/WebP has its colors counted on a nearest-neighbour sample
TRANSPARENT_ALPHA = 16
PLAIN_TOLERANCE = 12  # gray levels around the border median that still count as the same backdrop
# Only decoders worth the risk: never EPS (it runs Ghostscript), PSD, TIFF or the rarer plugins.
WANTED_DECODERS = ("JPEG", "PNG", "WEBP", "GIF", "AVIF", "BMP", "ICO")  # JPEG also opens MPO
Image.init()  # registers every plugin, so the names below resolve (a missing codec is left out)
OPENED_FORMATS = tuple(name for name in WANTED_DECODERS if name in Image.OPEN)
FORMAT_ALIASES = {"MPO": "JPEG"}  # Pillow names multi-picture camera JPEGs "MPO"; the bytes are a JPEG
ROTATING_ORIENTATIONS = frozenset({5, 6, 7, 8})

# Pillow only warns between MAX_IMAGE_PIXELS and twice that; a warning would let a bomb through.
warnings.simplefilter("error", Image.DecompressionBombWarning)


def measure(data: bytes, settings: Settings, *, content_hash: str | None = None) -> ImageInfo:
    """Measure one image; ImageRejectedError(failed=True) for undecodable, truncated or oversized bytes.

    `content_hash` is the SHA-256 hex of `data` when the caller has it already.
    """
    Image.MAX_IMAGE_PIXELS = settings.max_image_pixels
    budget = process_budget(settings.max_decode_bytes)
    try:
        simple_size = simple_webp_size(data)
        if simple_size is not None:
            width, height = simple_size
            refuse_bomb(width, height, settings.max_image_pixels)
            image_format, frames, orientation, quality = "WEBP", 1, 1, {}
            with budget.reserve(width * height * BYTES_PER_PIXEL):
                upright = decode_simple_webp(data)
                reduced, colors, preview = decode_reduced(upright)
        else:
            # The reservation is given back once the opened image, which holds the decode, is closed.
            with (
                contextlib.ExitStack() as reserved,
                Image.open(BytesIO(data), formats=OPENED_FORMATS) as image,
            ):
                width, height = image.size
                refuse_bomb(width, height, settings.max_image_pixels)
                # Reserved before anything else reads the file: a PNG's getexif() decodes it whole.
                reserved.enter_context(budget.reserve(decoded_pixels(image) * BYTES_PER_PIXEL))
                image_format = FORMAT_ALIASES.get(image.format or "", image.format or "UNKNOWN")
                frames = int(getattr(image, "n_frames", 1))
                orientation = _orientation(image)
                quality = estimate_jpeg_quality(image)
                upright = load_upright(image, data, frames=frames, orientation=orientation)
                reduced, colors, preview = decode_reduced(upright)
                del upright
    except ImageRejectedError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejectedError("bomb", str(exc), failed=True) from None
    except Exception as exc:  # Pillow's decoders raise many types on hostile bytes; all mean "broken"
        raise ImageRejectedError("undecodable", f"{type(exc).__name__}: {exc}"[:200], failed=True) from None
    if orientation in ROTATING_ORIENTATIONS:
        width, height = height, width
    flat = flatten_on_white(reduced)
    gray = flat.convert("L")
    return ImageInfo(
        format=image_format,
        mime=Image.MIME.get(image_format, "application/octet-stream"),
        width=width,
        height=height,
        file_size=len(data),
        content_hash=content_hash or hashlib.sha256(data).hexdigest(),
        phash=phash_hex(gray),
        features={**image_features(reduced, flat, gray), "colors": colors, "frames": frames, **quality},
        preview=preview,
        gray=gray,
    )


class MeasureMemo:
    """The measurements of the bytes one job has measured, by content, shared by its download threads.

    A second URL serving bytes already measured (an og:image that is a byte copy of a gallery
    photo) is not decoded again. Refused bytes are not remembered: they raise each time.
    """

    def __init__(self) -> None:
        self._by_hash: dict[str, ImageInfo] = {}
        self._lock = threading.Lock()

    def measure(self, data: bytes, settings: Settings) -> ImageInfo:
        digest = hashlib.sha256(data).hexdigest()
        with self._lock:
            known = self._by_hash.get(digest)
        if known is not None:
            return known
        info = measure(data, settings, content_hash=digest)
        with self._lock:
            self._by_hash[digest] = info
        return info


def refuse_bomb(width: int, height: int, max_pixels: int) -> None:
    """Refuse an image whose header claims more pixels than allowed, before decoding it."""
    if width <= 0 or height <= 0:
        raise ImageRejectedError("undecodable", f"impossible size {width}x{height}", failed=True)
    if width * height > max_pixels:
        raise ImageRejectedError("bomb", f"{width}x{height} is more than {max_pixels} pixels", failed=True)


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(ExifTags.Base.Orientation, 1))
    except Exception:  # a broken EXIF block does not make the pixels unusable
        return 1


VP8_START_CODE = b"\x9d\x01\x2a"
VP8L_SIGNATURE = 0x2F


def is_webp(data: bytes) -> bool:
    """True for a WebP file: the RIFF container with the WEBP form type."""
    return data[:4] == b"RIFF" and data[8:12] == b"WEBP"


def simple_webp_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a WebP in the simple format, read from its bitstream header; else None.

    A simple WebP is one lossy (VP8) or lossless (VP8L) bitstream right after the RIFF header
    (RFC 9649, section 2.5). It cannot be animated or carry EXIF, ICC or a separate alpha
    chunk: those need the extended (VP8X) header, which goes through Pillow as every other
    format does. Pillow opens every WebP with libwebp's animation decoder, which allocates and
    clears two canvases of the full size while holding the GIL, only to learn what these header
    bytes say (bench/results.md).
    """
    if len(data) < 30 or not is_webp(data):
        return None
    chunk = data[12:16]
    if chunk == b"VP8 " and data[23:26] == VP8_START_CODE:
        width, height = struct.unpack_from("<HH", data, 26)
        return width & 0x3FFF, height & 0x3FFF  # the top two bits are upscaling hints, not size
    if chunk == b"VP8L" and data[20] == VP8L_SIGNATURE:
        (bits,) = struct.unpack_from("<I", data, 21)
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    return None


def decode_simple_webp(data: bytes) -> Image.Image:
    """A simple WebP decoded by libwebp in place (see `webp_image`), with alpha if its header says so.

    A lossy (VP8) bitstream has no alpha without the extended header; a lossless one (VP8L)
    says in its header whether alpha is used, as libwebp itself reads it. libwebp takes the
    size from the same bitstream header simple_webp_size read, so the bomb check was made on
    the size it decodes.
    """
    alpha = data[12:16] == b"VP8L" and bool(struct.unpack_from("<I", data, 21)[0] >> VP8L_ALPHA_BIT & 1)
    return webp_image(data, alpha=alpha)


VP8L_ALPHA_BIT = 28  # after the 14-bit width and height


def webp_image(data: bytes, *, alpha: bool) -> Image.Image:
    """A still WebP decoded by libwebp into an array that Pillow reads in place: RGBA, or RGBX if opaque.

    Pillow keeps RGB in four bytes per pixel, so an RGB image made from libwebp's array is a
    full-size copy; four-byte pixels decoded as RGBA are Pillow's
    RGBX layout as they are. decode_reduced resamples RGBX and converts only the small results.
    """
    pixels = webp_decode(data, hasalpha=True)
    mode = "RGBA" if alpha else "RGBX"
    return Image.frombuffer(mode, (pixels.shape[1], pixels.shape[0]), pixels, "raw", mode, 0, 1)


def load_upright(image: Image.Image, data: bytes, *, frames: int, orientation: int) -> Image.Image:
    """The pixels of `image` (opened from `data`), upright: JPEGs at reduced scale, the rest in full.

    JPEGs decode in draft mode: the smallest 1/2…1/8 scale whose long side is still at least
    DRAFT_SIDE (`draft_box`); a progressive one at 1/8 from only the scans that scale reads
    (`decode_eighth_scale`). A still, unrotated WebP is decoded by libwebp into an array
    (imagecodecs): Pillow reads every WebP through libwebp's animation decoder and then
    copies the frame twice, holding the GIL, for the same pixels (bench/results.md). Animated or
    EXIF-rotated WebPs, rare, stay with Pillow.
    """
    if image.format == "WEBP" and frames == 1 and orientation == 1:
        return webp_image(data, alpha=image.mode == "RGBA")
    full_size, box = image.size, draft_box(image.size)
    image.draft("RGB", box)
    decoded = None
    if image.format == "JPEG" and image.info.get("progressive") and image.size == _eighth(full_size):
        decoded = decode_eighth_scale(data, box, image)
    if decoded is None:
        image.load()
        decoded = image
    return ImageOps.exif_transpose(decoded) if orientation != 1 else decoded


def _eighth(size: tuple[int, int]) -> tuple[int, int]:
    """The size of a 1/8-scale JPEG decode (a drafted image's size when the draft chose that scale)."""
    return -(-size[0] // 8), -(-size[1] // 8)


def decode_eighth_scale(data: bytes, box: tuple[int, int], drafted: Image.Image) -> Image.Image | None:
    """A progressive JPEG drafted at 1/8 scale, decoded from only the scans that scale reads (jpegscans.py).

    The pixels are those of the whole file's decode, in about a third of the time; None (decode
    the whole file) if it cannot be cut or the cut copy does not draft to the same size and mode.
    """
    scans = eighth_scale_scans(data)
    if scans is None:
        return None
    try:
        cut = Image.open(BytesIO(scans), formats=("JPEG",))  # in memory: nothing to close
        cut.draft("RGB", box)
        if cut.size != drafted.size or cut.mode != drafted.mode:
            return None
        cut.load()
    except Exception:  # whatever is wrong with the cut copy, the whole file decides (and reports it)
        return None
    return cut


def decoded_pixels(image: Image.Image) -> int:
    """How many pixels decoding `image` (opened, not loaded) makes: a JPEG's at its draft scale."""
    width, height = image.size
    if image.format in ("JPEG", "MPO"):
        box = draft_box(image.size)
        # Pillow's draft: the largest of 8, 4, 2, 1 at which the image still covers the box.
        ratio = min(width // box[0], height // box[1])
        scale = next(factor for factor in (8, 4, 2, 1) if ratio >= factor)
        return -(-width // scale) * -(-height // scale)
    return width * height


def draft_box(size: tuple[int, int]) -> tuple[int, int]:
    """The size to ask Image.draft for: `size` scaled so that its long side is DRAFT_SIDE.

    Draft mode picks the smallest scale at which the picture still covers the requested box.
    A square box would hold a wide banner's short side to DRAFT_SIDE and decode its long side
    at two to four times FEATURE_SIDE, only for decode_reduced to resample it down again.
    """
    width, height = size
    scale = DRAFT_SIDE / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def decode_reduced(upright: Image.Image) -> tuple[Image.Image, int, Image.Image]:
    """(FEATURE_SIDE copy, color count, preview) of the decoded picture, as RGB/RGBA.

    A draft JPEG copy no larger than PREVIEW_SIDE is the preview as it is: Pillow's resampling
    costs half a JPEG decode, so it is only done where it must be (full-size PNG/WebP/GIF,
    large draft copies), straight from the decoded image, which is never copied whole.
    """
    upright = to_8bit(upright)
    colors = count_colors(upright)
    has_alpha = upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info
    mode = "RGBA" if has_alpha else "RGB"
    upright = shrink_huge(upright)
    if max(upright.size) > PREVIEW_SIDE:
        # RGBX (an opaque WebP read in place) resamples as RGB does, its fourth byte ignored.
        source = upright if upright.mode in (mode, "RGBX") else upright.convert(mode)
        preview = source.resize(_fit(source.size, PREVIEW_SIDE), Image.Resampling.BICUBIC, reducing_gap=1.0)
        preview = preview if preview.mode == mode else preview.convert(mode)
    else:
        preview = upright.convert(mode)  # also a copy that outlives the file
    reduced = preview
    if max(reduced.size) > FEATURE_SIDE:
        reduced = preview.resize(_fit(reduced.size, FEATURE_SIDE), Image.Resampling.BICUBIC)
    return reduced, colors, preview


def shrink_huge(image: Image.Image) -> Image.Image:
    """An image over HUGE_PIXELS box-reduced by an integer factor to about twice PREVIEW_SIDE, in its own mode.

    Converting or resampling it whole would make full-size copies (a mode conversion; Pillow's
    premultiplied copy of LA/RGBA before `resize` or `reduce`): another 240 MB beside the decode
    of a 60-megapixel picture. It is reduced in strips of REDUCE_STRIP_ROWS output rows instead,
    each strip's copies small, with the same pixels as one `reduce` of the whole.
    """
    if image.width * image.height <= HUGE_PIXELS or image.mode not in REDUCIBLE_MODES:
        return image
    factor = max(image.size) // (2 * PREVIEW_SIDE)
    if factor < 2:
        return image
    width, height = image.size
    reduced = Image.new(image.mode, (-(-width // factor), -(-height // factor)))
    rows = REDUCE_STRIP_ROWS * factor
    for top in range(0, height, rows):
        strip = image.crop((0, top, width, min(height, top + rows)))
        reduced.paste(strip.reduce(factor), (0, top // factor))
    return reduced


def count_colors(image: Image.Image) -> int:
    """Distinct colors, capped just above MAX_COUNTED_COLORS; a large picture is counted on a sample.

    Colors are counted before any resampling, which invents in-between colors and would make a
    flat logo look like a photo; the sample of a picture over COLOR_SAMPLE_SIDE takes every
    n-th pixel (nearest neighbour), which invents none.
    """
    if max(image.size) > COLOR_SAMPLE_SIDE:
        image = image.resize(_fit(image.size, COLOR_SAMPLE_SIDE), Image.Resampling.NEAREST)
    colors = image.getcolors(maxcolors=MAX_COUNTED_COLORS)
    return len(colors) if colors is not None else MAX_COUNTED_COLORS + 1


def _fit(size: tuple[int, int], side: int) -> tuple[int, int]:
    """`size` scaled down so that its long side is `side`, the aspect ratio kept."""
    width, height = size
    scale = side / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def to_8bit(image: Image.Image) -> Image.Image:
    """16-bit and 32-bit integer/float grayscale stretched to 8-bit "L"; other modes unchanged."""
    if image.mode.startswith("I;16"):
        image = image.convert("I")
    if image.mode in ("I", "F"):
        low, high = cast("tuple[float, float]", image.getextrema())  # one band: (min, max)
        scale = 255 / (float(high) - float(low)) if high != low else 0
        return image.point(lambda value: (value - low) * scale).convert("L")
    return image


def image_features(reduced: Image.Image, rgb: Image.Image, gray: Image.Image) -> dict[str, Any]:
    """Cheap numbers that tell photos from graphics and studio shots from scenes.

    `rgb` is `reduced` flattened on white, `gray` its grayscale: measure() makes them once for
    the features, the phash and the crop check.
    """
    mask = border_mask(rgb.size)
    means, deviations = band_statistics(rgb.histogram(mask))
    return {
        "sharpness": round(edge_variance(gray), 2),
        "border_brightness": round(float(means.mean()), 2),
        "border_std": round(float(deviations.max()), 2),
        "border_plain": round(plain_share(gray.histogram(mask)), 3),
        "entropy": round(gray.entropy(), 3),
        "transparent_fraction": round(transparent_fraction(reduced), 3),
    }


LEVELS = np.arange(256, dtype=np.float64)
LEVELS_SQUARED = LEVELS * LEVELS


def band_statistics(histogram: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """(mean, standard deviation) of each band, from Pillow's histogram of all bands.

    ImageStat.Stat's mean and stddev, worked out from the same histogram with numpy instead of
    Python loops over its 256 bins per band (tested equal).
    """
    counts = np.asarray(histogram, dtype=np.float64).reshape(-1, 256)
    total = counts.sum(axis=1)
    means = counts @ LEVELS / total
    deviations = np.sqrt(np.maximum(counts @ LEVELS_SQUARED / total - means * means, 0.0))
    return means, deviations


def edge_variance(gray: Image.Image) -> float:
    """The variance of Pillow's FIND_EDGES filter of a gray picture, computed with numpy.

    The same numbers as ImageStat.Stat(gray.filter(ImageFilter.FIND_EDGES)).var (tested): the
    kernel 8·centre − the 8 neighbours clamped to 0–255, the outer ring of pixels copied as
    Pillow does; Pillow runs that 3×3 integer kernel through its generic float filter, three
    times slower.
    """
    pixels = np.asarray(gray, dtype=np.int16)
    edges = pixels.copy()
    rows = pixels[:, :-2] + pixels[:, 1:-1] + pixels[:, 2:]  # 3×3 box sums, one axis at a time
    box = rows[:-2] + rows[1:-1] + rows[2:]
    centre = pixels[1:-1, 1:-1]
    edges[1:-1, 1:-1] = np.clip(9 * centre - box, 0, 255)  # 8·centre − its 8 neighbours
    return float(edges.var())


def flatten_on_white(reduced: Image.Image) -> Image.Image:
    """An RGB copy with transparent pixels composited on white, as a browser shows them on a white page."""
    if reduced.mode != "RGBA":
        return reduced.convert("RGB")
    return Image.alpha_composite(Image.new("RGBA", reduced.size, "white"), reduced).convert("RGB")


def transparent_fraction(reduced: Image.Image) -> float:
    if reduced.mode != "RGBA":
        return 0.0
    alpha_histogram = reduced.getchannel("A").histogram()
    return sum(alpha_histogram[:TRANSPARENT_ALPHA]) / (reduced.width * reduced.height)


def border_mask(size: tuple[int, int]) -> Image.Image:
    """A mask selecting the outer band (BORDER_FRACTION of the short side) of an image of `size`."""
    width, height = size
    band = max(2, round(min(size) * BORDER_FRACTION))
    mask = Image.new("L", size, 255)
    if width > 2 * band and height > 2 * band:
        mask.paste(0, (band, band, width - band, height - band))
    return mask


def plain_share(histogram: list[int]) -> float:
    """Share of pixels within PLAIN_TOLERANCE gray levels of the median: 1.0 for a seamless backdrop."""
    total = sum(histogram)
    if total == 0:
        return 0.0
    running, median = 0, 0
    for level, count in enumerate(histogram):
        running += count
        if running * 2 >= total:
            median = level
            break
    near = histogram[max(0, median - PLAIN_TOLERANCE) : median + PLAIN_TOLERANCE + 1]
    return sum(near) / total


# The libjpeg standard luminance table (ITU T.81 Annex K), the reference for quality 50.
STANDARD_LUMINANCE = (
    (16, 11, 10, 16, 24, 40, 51, 61),
    (12, 12, 14, 19, 26, 58, 60, 55),
    (14, 13, 16, 24, 40, 57, 69, 56),
    (14, 17, 22, 29, 51, 87, 80, 62),
    (18, 22, 37, 56, 68, 109, 103, 77),
    (24, 35, 55, 64, 81, 104, 113, 92),
    (49, 64, 78, 87, 103, 121, 120, 101),
    (72, 92, 95, 98, 112, 100, 103, 99),
)
STANDARD_LUMINANCE_SUM = sum(sum(row) for row in STANDARD_LUMINANCE)


def estimate_jpeg_quality(image: Image.Image) -> dict[str, int]:
    """{"jpeg_quality": 1–100} from the luminance quantization table; {} if not a JPEG."""
    tables = getattr(image, "quantization", None)
    if not tables or 0 not in tables or len(tables[0]) != 64:
        return {}
    scale = 100 * sum(tables[0]) / STANDARD_LUMINANCE_SUM  # libjpeg's scaling percentage
    quality = (200 - scale) / 2 if scale <= 100 else 5000 / scale
    return {"jpeg_quality": max(1, min(100, round(quality)))}
