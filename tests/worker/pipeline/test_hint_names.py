"""The hints are one vocabulary (types.Hint): the names docs/scoring.md explains, written as plain strings."""

from __future__ import annotations

import json
import re
from pathlib import Path

from worker.pipeline.extract.candidates import extract_candidates
from worker.pipeline.types import Hint, Page

SCORING_DOC = Path(__file__).resolve().parents[3] / "docs" / "scoring.md"


def documented_hints() -> set[str]:
    """The names in the first column of the hint table ("| hint | where it comes from |")."""
    table = SCORING_DOC.read_text().split("| hint | where it comes from |", 1)[1].split("\n\n", 1)[0]
    names: set[str] = set()
    for row in table.splitlines()[2:]:
        names.update(re.findall(r"`([a-z_]+)`", row.split("|")[1]))
    return names


def test_every_hint_is_documented_and_every_documented_hint_exists():
    assert documented_hints() == {hint.value for hint in Hint}


def test_hints_are_written_as_their_plain_names():
    html = b'<html><head><meta property="og:image" content="/og.jpg"></head><body></body></html>'
    (candidate,) = extract_candidates(Page("https://shop.example/p", html, "text/html"), limit=10)
    assert candidate.hints == {Hint.OG, Hint.META_ONLY, Hint.UNSHOWN}
    assert json.dumps(sorted(candidate.hints)) == '["meta_only", "og", "unshown"]'
    assert all(type(hint) is Hint for hint in candidate.hints)
