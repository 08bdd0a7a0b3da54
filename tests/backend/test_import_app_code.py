"""import_app_code: what gunicorn's master imports before forking is complete and builds nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, os, sys, threading
import backend
backend.import_app_code()
threads = [thread.name for thread in threading.enumerate()]
sockets = []
for fd in os.listdir("/proc/self/fd"):
    try:
        sockets += [fd] if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:") else []
    except OSError:
        pass
before = set(sys.modules)
backend.create_app()
heavy = sorted(name for name in ("lxml", "PIL", "numpy") if name in sys.modules)
print(json.dumps({"threads": threads, "sockets": sockets, "new": sorted(set(sys.modules) - before), "heavy": heavy}))
"""


def test_master_imports_everything_create_app_needs_and_opens_nothing():
    """After import_app_code no thread or socket exists, and create_app imports no module of ours."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={"PATH": "/usr/bin:/bin", "APP_ENV": "development", "VAR_DIR": str(ROOT / "var" / "probe")},
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["threads"] == ["MainThread"]
    assert report["sockets"] == []
    assert [name for name in report["new"] if name.split(".")[0] in {"backend", "worker"}] == []
    # Previews run on the workers: the API process loads no part of the pipeline's decoders or parser.
    assert report["heavy"] == []
