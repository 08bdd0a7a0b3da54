"""Parse srcset attributes as the HTML standard says, and pick the entry meant for the largest display.

`parse_srcset` reads the usual shape ("a.jpg 400w, b.jpg 800w") with one regex and any other
with the standard's character-by-character algorithm (URLs may hold commas); invalid entries
are dropped. `largest_srcset_entry` is what the extractor keeps of a srcset.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class SrcsetEntry:
    """One image candidate of a srcset: its URL and its width (`w`) or pixel density (`x`) descriptor."""

    url: str
    width: int | None = None
    density: float | None = None


SRCSET_SPACE = " \t\n\r\f"
_FLOAT = re.compile(r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def parse_srcset(value: str) -> list[SrcsetEntry]:
    """The entries of a srcset attribute, parsed as the HTML standard says; invalid entries are dropped.

    URLs may contain commas (`/c_fill,w_400/a.jpg 400w`); a comma ends an entry only after
    its URL, or after descriptors outside parentheses. The usual shape is read with a regex.
    """
    simple = _simple_srcset(value)
    return simple if simple is not None else parse_srcset_standard(value)


def parse_srcset_standard(value: str) -> list[SrcsetEntry]:
    """parse_srcset by the standard's algorithm, character by character, for any srcset."""
    entries: list[SrcsetEntry] = []
    position = 0
    while True:
        while position < len(value) and value[position] in SRCSET_SPACE + ",":
            position += 1
        if position >= len(value):
            return entries
        end = position
        while end < len(value) and value[end] not in SRCSET_SPACE:
            end += 1
        url, position = value[position:end], end
        descriptors: list[str] = []
        if url.endswith(","):
            url = url.rstrip(",")
        else:
            descriptors, position = _srcset_descriptors(value, position)
        entry = _srcset_entry(url, descriptors)
        if entry is not None:
            entries.append(entry)


# The usual srcset: "url 400w, url 800w" or "url 1x, url 1.5x"; every URL followed by whitespace
# and one plain descriptor, so no URL can hold a comma. Anything else goes through the full parser.
_SRCSET_WS = "[ \t\n\r\f]"
_SIMPLE_SRCSET_ENTRY = rf"([^ \t\n\r\f,]+){_SRCSET_WS}+(?:([1-9][0-9]*)w|([0-9]+(?:\.[0-9]+)?)x)"
_SIMPLE_SRCSET = re.compile(
    rf"{_SRCSET_WS}*{_SIMPLE_SRCSET_ENTRY}(?:{_SRCSET_WS}*,{_SRCSET_WS}*{_SIMPLE_SRCSET_ENTRY})*{_SRCSET_WS}*"
)
_SIMPLE_SRCSET_ENTRIES = re.compile(_SIMPLE_SRCSET_ENTRY)


def _simple_srcset(value: str) -> list[SrcsetEntry] | None:
    """parse_srcset's answer for a srcset of the usual shape, read with a regex; None for any other."""
    if not _SIMPLE_SRCSET.fullmatch(value):
        return None
    return [
        SrcsetEntry(url=url, width=int(width)) if width else SrcsetEntry(url=url, density=float(density))
        for url, width, density in _SIMPLE_SRCSET_ENTRIES.findall(value)
    ]


def _srcset_descriptors(value: str, position: int) -> tuple[list[str], int]:
    tokens: list[str] = []
    current, in_parens = "", False
    while position < len(value):
        char = value[position]
        position += 1
        if in_parens:
            current += char
            in_parens = char != ")"
        elif char == ",":
            break
        elif char in SRCSET_SPACE:
            if current:
                tokens.append(current)
            current = ""
        else:
            current += char
            in_parens = char == "("
    if current:
        tokens.append(current)
    return tokens, position


def _srcset_entry(url: str, descriptors: list[str]) -> SrcsetEntry | None:
    width: int | None = None
    density: float | None = None
    height: int | None = None
    for descriptor in descriptors:
        number, kind = descriptor[:-1], descriptor[-1:].lower()
        if kind == "w" and width is None and density is None and number.isdigit() and int(number) > 0:
            width = int(number)
        elif kind == "x" and width is None and density is None and _FLOAT.fullmatch(number):
            density = float(number)
        elif kind == "h" and height is None and number.isdigit() and int(number) > 0:
            height = int(number)
        else:
            return None
    if not url or (height is not None and width is None):
        return None
    if width is None and density is None:
        density = 1.0  # the standard's default for an entry without descriptors
    return SrcsetEntry(url=url, width=width, density=density)


def largest_srcset_entry(value: str) -> SrcsetEntry | None:
    """The srcset entry meant for the largest display: widest `w`, else densest `x` (no descriptor = 1x)."""
    entries = parse_srcset(value)
    widths = [entry for entry in entries if entry.width is not None]
    if widths:
        return max(widths, key=lambda entry: entry.width or 0)
    return max(entries, key=lambda entry: entry.density or 0.0, default=None)
