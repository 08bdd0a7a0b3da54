"""A progressive JPEG cut to the scans a 1/8-scale decode reads decodes to the whole file's pixels."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from backend.errors import ImageRejectedError
from tests.shopsite import encode, lifestyle_photo, product_photo
from worker.pipeline import measure as measuring
from worker.pipeline.jpegscans import eighth_scale_scans
from worker.pipeline.measure import load_upright, measure


def grainy_scene(size: tuple[int, int], seed: int = 5) -> Image.Image:
    """A scene with per-pixel grain, so every block carries AC coefficients in every component."""
    rng = np.random.default_rng(seed)
    scene = np.asarray(lifestyle_photo(seed, size), dtype=np.int16)
    grain = rng.integers(-40, 41, scene.shape, dtype=np.int16)
    return Image.fromarray(np.clip(scene + grain, 0, 255).astype(np.uint8))


def eighth_scale_pixels(data: bytes) -> np.ndarray:
    """The pixels libjpeg gives for `data` at 1/8 scale (Pillow's draft mode)."""
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
        image.draft(image.mode, (max(1, width // 8), max(1, height // 8)))
        assert image.size == (-(-width // 8), -(-height // 8))
        image.load()
        return np.asarray(image).copy()


LAYOUTS = {
    "4:2:0": {"subsampling": 2},
    "4:2:2": {"subsampling": 1},
    "4:4:4": {"subsampling": 0},
    "restart markers": {"subsampling": 2, "restart_marker_blocks": 4},
}


@pytest.mark.parametrize("layout", LAYOUTS)
def test_cut_file_decodes_to_the_whole_files_pixels_in_every_sampling_layout(layout):
    """Luma at 1/8 reads DC only; subsampled chroma is IDCT-scaled and keeps its AC scans."""
    data = encode(grainy_scene((1704, 1296)), "JPEG", progressive=True, quality=90, **LAYOUTS[layout])
    cut = eighth_scale_scans(data)

    assert cut is not None
    assert len(cut) < len(data) / 2  # the luma AC scans are most of the file
    assert np.array_equal(eighth_scale_pixels(cut), eighth_scale_pixels(data))


@pytest.mark.parametrize("mode", ["L", "CMYK"])
def test_grayscale_and_cmyk_cut_files_decode_to_the_same_pixels(mode):
    data = encode(grainy_scene((1640, 1232)).convert(mode), "JPEG", progressive=True, quality=90)
    cut = eighth_scale_scans(data)

    assert cut is not None
    assert np.array_equal(eighth_scale_pixels(cut), eighth_scale_pixels(data))


@pytest.mark.parametrize(
    "size",
    [(8, 8), (16, 8), (24, 16), (1024, 256), (1448, 1448), (1456, 1456), (2000, 1999)],
    ids=lambda size: f"{size[0]}x{size[1]}",
)
def test_the_zero_scan_covers_every_block_whatever_the_count(size):
    """One end-of-band run covers at most 32,767 blocks: 1 block, a few, and more than one run."""
    data = encode(grainy_scene(size), "JPEG", progressive=True, quality=85, subsampling=0)
    cut = eighth_scale_scans(data)

    assert cut is not None
    assert np.array_equal(eighth_scale_pixels(cut), eighth_scale_pixels(data))


def test_measuring_through_the_cut_changes_nothing_measured(make_settings, monkeypatch):
    """Features, perceptual hash, size and preview are those of the whole file's decode."""
    settings = make_settings()
    rotated = Image.Exif()
    rotated[0x0112] = 6  # the cut keeps the EXIF block, so the picture is turned upright the same way
    photos = [
        encode(product_photo(4, (1800, 1800)), "JPEG", progressive=True),
        encode(grainy_scene((2000, 1500)), "JPEG", progressive=True),
        encode(grainy_scene((2000, 1500)), "JPEG", progressive=True, exif=rotated.tobytes()),
    ]
    through_cut = [measure(data, settings) for data in photos]
    monkeypatch.setattr(measuring, "decode_eighth_scale", lambda *_args: None)
    whole = [measure(data, settings) for data in photos]

    for cut_info, whole_info in zip(through_cut, whole, strict=True):
        assert cut_info.features == whole_info.features
        assert cut_info.phash == whole_info.phash
        assert (cut_info.width, cut_info.height) == (whole_info.width, whole_info.height)
        assert cut_info.preview.tobytes() == whole_info.preview.tobytes()


def test_only_progressive_jpegs_drafted_at_an_eighth_are_cut(monkeypatch):
    """A 1300 px photo drafts at 1/4, whose inverse DCT reads luma AC too; a baseline file has no scans to drop."""
    tried: list[bytes] = []
    real = measuring.decode_eighth_scale
    monkeypatch.setattr(
        measuring, "decode_eighth_scale", lambda data, *args: tried.append(data) or real(data, *args)
    )
    cases = {
        "progressive 1/8": encode(product_photo(1, (1700, 1200)), "JPEG", progressive=True),
        "progressive 1/4": encode(product_photo(1, (1300, 900)), "JPEG", progressive=True),
        "baseline 1/8": encode(product_photo(1, (1700, 1200)), "JPEG"),
    }
    for data in cases.values():
        with Image.open(io.BytesIO(data)) as image:
            load_upright(image, data, frames=1, orientation=1)

    assert tried == [cases["progressive 1/8"]]


def test_files_it_does_not_follow_are_not_cut():
    progressive = encode(product_photo(2, (400, 300)), "JPEG", progressive=True)
    assert eighth_scale_scans(progressive) is not None
    assert eighth_scale_scans(encode(product_photo(2, (400, 300)), "JPEG")) is None  # baseline
    assert eighth_scale_scans(progressive[: len(progressive) // 2]) is None  # no end of image
    assert eighth_scale_scans(encode(product_photo(2, (40, 30)), "PNG")) is None
    assert eighth_scale_scans(b"\xff\xd8\xff\xc2\x00\x04\xff\xd9") is None  # a frame header too short
    assert eighth_scale_scans(b"") is None


@pytest.mark.parametrize(
    "padding", [b"\xff" * 200_000, b"\xff\xd0" * 100_000], ids=["fill bytes", "restart markers"]
)
def test_a_file_of_countless_markers_goes_whole_to_libjpeg(make_settings, padding):
    """Each marker is a loop turn here: past MAX_MARKERS the file is not cut, and libjpeg reads it in C."""
    data = encode(product_photo(3, (1700, 1200)), "JPEG", progressive=True)
    first_scan = data.index(b"\xff\xda")
    padded = data[:first_scan] + padding + data[first_scan:]  # between the tables and the first scan

    assert eighth_scale_scans(data) is not None
    assert eighth_scale_scans(padded) is None
    assert measure(padded, make_settings()).width == 1700


def test_truncated_progressive_jpeg_is_still_undecodable(make_settings):
    """The cut needs the whole file; a truncated one goes to the full decode, which refuses it."""
    data = encode(grainy_scene((1700, 1300)), "JPEG", progressive=True)
    with pytest.raises(ImageRejectedError) as refused:
        measure(data[: len(data) * 2 // 3], make_settings())
    assert (refused.value.reason, refused.value.failed) == ("undecodable", True)


def test_damaged_progressive_jpegs_are_measured_or_refused_never_crash(make_settings):
    """Bytes flipped anywhere (markers, lengths, scan headers, coded data): a measurement or a refusal."""
    settings = make_settings()
    original = encode(grainy_scene((1640, 1240)), "JPEG", progressive=True, quality=80)
    rng = np.random.default_rng(11)
    outcomes = {"cut": 0, "measured": 0, "refused": 0}
    for _ in range(120):
        damaged = bytearray(original)
        # Mostly the first kilobytes, where the tables, frame and scan headers are.
        for position in rng.integers(0, 4096, 3).tolist() + rng.integers(0, len(original), 2).tolist():
            damaged[position] = int(rng.integers(0, 256))
        cut = eighth_scale_scans(bytes(damaged))
        assert cut is None or cut.startswith(b"\xff\xd8")
        outcomes["cut"] += cut is not None
        try:
            measure(bytes(damaged), settings)
            outcomes["measured"] += 1
        except ImageRejectedError as refused:
            assert refused.failed
            outcomes["refused"] += 1
    assert outcomes["cut"] and outcomes["measured"] and outcomes["refused"]  # every path was taken
