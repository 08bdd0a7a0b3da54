"""Every `# type: ignore` in backend/ and worker/ names its error code and says why (mypy checks the code)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# `# type: ignore[code]  # the reason`: mypy's ignore-without-code refuses a bare one.
WITH_REASON = re.compile(r"# type: ignore\[[a-z-]+(, ?[a-z-]+)*\]  # \S")


def test_every_type_ignore_gives_its_reason():
    bare = [
        f"{path.relative_to(ROOT)}:{number}"
        for package in ("backend", "worker")
        for path in sorted((ROOT / package).rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if "# type: ignore" in line and not WITH_REASON.search(line)
    ]
    assert bare == []
