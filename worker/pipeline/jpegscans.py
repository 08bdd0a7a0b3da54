"""A progressive JPEG cut down to the scans a 1/8-scale decode reads: the same pixels, decoded faster.

At 1/8 scale libjpeg computes each pixel of a full-resolution component (the luma, or every
component of a 4:4:4 file) from its block's DC coefficient alone (a 1×1 inverse DCT); a
subsampled component is scaled up by a larger inverse DCT, which reads its AC coefficients too.
A progressive file sends AC coefficients in scans of one component each, and the full-resolution
components' AC scans are most of its bytes and most of its decoding time (bench/results.md),
none of it used at that scale. `eighth_scale_scans` leaves those scans out.

The decoder must then believe it has every coefficient: libjpeg-turbo "smooths" blocks whose AC
coefficients never arrived, estimating them from the neighbours' DC and, when all are missing,
shifting the DC itself. So the cut file ends with one synthetic scan per left-out component
that declares all its AC coefficients zero (a single end-of-band run over every block), and
no coefficient is missing, as in the whole file. tests/worker/pipeline/test_jpegscans.py
checks that the pixels are identical to the whole file's 1/8-scale decode, for every
sampling layout.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator

SOI, EOI, SOS, DHT, DRI = 0xD8, 0xD9, 0xDA, 0xC4, 0xDD
STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM and RSTn have no length field
PROGRESSIVE_HUFFMAN = 0xC2
# Any other frame type (baseline, lossless, hierarchical, arithmetic coding): not ours to cut.
OTHER_FRAMES = frozenset({0xC0, 0xC1, 0xC3, *range(0xC5, 0xC8), *range(0xC9, 0xCC), *range(0xCD, 0xD0)})
# The end of an entropy-coded segment: 0xFF followed by neither a stuffed zero nor a restart marker.
SEGMENT_END = re.compile(rb"\xff[^\x00\xd0-\xd7]")
MAX_EOB_RUN = 32767  # EOB14 with its 14 extra bits
MAX_MARKERS = 1000  # progressive files from libjpeg, Photoshop and CDNs have 10–40
SYNTHETIC_AC_TABLE = 3  # defined after the file's last scan, so no scan of the file reads it
# One AC Huffman table whose codes are the EOBr symbols (r << 4, r = 0…14), each 4 bits long: code r.
EOB_TABLE = (
    bytes((0xFF, DHT))
    + struct.pack(">HB", 2 + 1 + 16 + 15, 0x10 | SYNTHETIC_AC_TABLE)
    + bytes((0, 0, 0, 15, *([0] * 12)))
    + bytes(run << 4 for run in range(15))
)
NO_RESTARTS = bytes((0xFF, DRI, 0, 4, 0, 0))  # the synthetic scans carry no restart markers


class UncuttableError(Exception):
    """The file is not one this reader follows (or not a well-formed progressive JPEG)."""


def eighth_scale_scans(data: bytes) -> bytes | None:
    """`data` without the AC scans of its full-resolution components, for a 1/8-scale decode; None if not cuttable.

    Only a well-formed progressive Huffman-coded JPEG is cut (SOF2, up to its EOI); anything
    else, or anything this reader does not follow, is None and the caller decodes the whole file.
    """
    if data[:2] != bytes((0xFF, SOI)):
        return None
    try:
        return _cut(data)
    except UncuttableError:
        return None


def _cut(data: bytes) -> bytes:
    kept = [data[:2]]
    full_resolution: dict[int, int] | None = None  # component id -> its block count
    for marker, start, end in _segments(data):
        if marker in OTHER_FRAMES or marker == SOI:
            raise UncuttableError
        if marker == PROGRESSIVE_HUFFMAN:
            if full_resolution is not None:
                raise UncuttableError
            full_resolution = _full_resolution_blocks(data[start + 4 : end])
        elif marker in (SOS, EOI):
            if full_resolution is None:
                raise UncuttableError
            if marker == SOS and _is_ac_scan_of(data, start, full_resolution):
                continue
            if marker == EOI:
                kept += [EOB_TABLE, NO_RESTARTS]
                kept += [zero_ac_scan(component, blocks) for component, blocks in full_resolution.items()]
        kept.append(data[start:end])
    return b"".join(kept)


def _segments(data: bytes) -> Iterator[tuple[int, int, int]]:
    """(marker, start, end) of each segment after SOI, EOI the last; a scan runs to the end of its entropy-coded data.

    At most MAX_MARKERS markers and fill bytes are read: a real file has a few dozen, and a
    hostile one made of millions would otherwise cost a Python loop turn each (libjpeg, in C,
    reads such a file whole instead).
    """
    position, size = 2, len(data)
    for _ in range(MAX_MARKERS):
        if position + 2 > size:
            break
        if data[position] != 0xFF:
            raise UncuttableError
        marker = data[position + 1]
        if marker == 0xFF:  # a fill byte before a marker
            position += 1
            continue
        if marker == EOI or marker in STANDALONE:
            yield marker, position, position + 2
            if marker == EOI:
                return
            position += 2
            continue
        if position + 5 > size:
            raise UncuttableError
        (length,) = struct.unpack_from(">H", data, position + 2)
        end = position + 2 + length
        if length < 2 or end > size or (marker == SOS and length < 6 + 2 * data[position + 4]):
            raise UncuttableError
        if marker == SOS:
            end = _entropy_end(data, end)
        yield marker, position, end
        position = end
    raise UncuttableError  # no end of image, or too many markers


def _is_ac_scan_of(data: bytes, start: int, components: dict[int, int]) -> bool:
    """True if the scan at `start` carries AC coefficients (first or refinement) of one of `components`."""
    count = data[start + 4]
    first_coefficient = data[start + 5 + 2 * count]
    return count == 1 and first_coefficient > 0 and data[start + 5] in components


def _full_resolution_blocks(frame: bytes) -> dict[int, int]:
    """{component id: blocks} of the frame's components at the full sampling rate."""
    if len(frame) < 6:
        raise UncuttableError
    precision, height, width, count = struct.unpack_from(">BHHB", frame)
    if precision != 8 or not width or not height or not 1 <= count <= 4 or len(frame) < 6 + 3 * count:
        raise UncuttableError
    factors = {frame[6 + 3 * index]: frame[7 + 3 * index] for index in range(count)}
    if len(factors) != count or any(not 1 <= f >> 4 <= 4 or not 1 <= f & 15 <= 4 for f in factors.values()):
        raise UncuttableError
    widest = max(f >> 4 for f in factors.values())
    tallest = max(f & 15 for f in factors.values())
    blocks = -(-width // 8) * -(-height // 8)
    return {c: blocks for c, f in factors.items() if f >> 4 == widest and f & 15 == tallest}


def _entropy_end(data: bytes, start: int) -> int:
    """Where the entropy-coded data starting at `start` ends: at the next marker."""
    match = SEGMENT_END.search(data, start)
    if match is None:
        raise UncuttableError
    return match.start()


def zero_ac_scan(component: int, blocks: int) -> bytes:
    """A progressive AC first scan (coefficients 1–63, full precision) saying "all zero" for every block."""
    value, bits = 0, 0
    while blocks > 0:
        run = min(blocks, MAX_EOB_RUN)
        size = run.bit_length() - 1  # EOBr covers 2**r to 2**(r+1) - 1 blocks; r extra bits say which
        value = (value << (4 + size)) | (size << size) | (run - (1 << size))
        bits += 4 + size
        blocks -= run
    padding = -bits % 8
    value = (value << padding) | ((1 << padding) - 1)  # padded with one bits, as the standard says
    coded = value.to_bytes((bits + padding) // 8, "big").replace(b"\xff", b"\xff\x00")
    header = bytes((0xFF, SOS)) + struct.pack(">HBBBBBB", 8, 1, component, SYNTHETIC_AC_TABLE, 1, 63, 0)
    return header + coded
