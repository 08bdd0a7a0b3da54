"""Forked API and worker processes keep the parent's memory shared: their fork hooks freeze the GC.

Without the freeze, the first full collection in a forked child writes the GC header of every
object it inherited, so the kernel copies each of those pages (tens of MB with our modules
loaded), and the collection at a gunicorn worker's exit walked them all again during shutdown.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# The parent loads what gunicorn's master and the Celery main process hold, forks, and the child
# runs the hook under test (or none) and reports how much private memory one gc.collect() made.
PROBE = """
import gc, json, os, runpy, sys
import backend, worker.tasks
backend.import_app_code()
hook = sys.argv[1]  # none, gunicorn_pre_fork or celery_process_init
if hook == "celery_process_init":
    from celery.signals import worker_process_init
    import worker.celery  # connects the pool-process handler

def private_dirty_kb():
    with open("/proc/self/smaps_rollup") as rollup:
        return next(int(line.split()[1]) for line in rollup if line.startswith("Private_Dirty:"))

gc.collect()
read_end, write_end = os.pipe()
if hook == "gunicorn_pre_fork":  # gunicorn runs pre_fork in the master, right before the fork
    runpy.run_path("gunicorn.conf.py")["pre_fork"](None, None)
pid = os.fork()
if pid == 0:
    if hook == "celery_process_init":  # Celery sends it in the new pool process
        worker_process_init.send(sender=None)
    before = private_dirty_kb()
    gc.collect()
    os.write(write_end, json.dumps({"copied_kb": private_dirty_kb() - before}).encode())
    os._exit(0)
os.waitpid(pid, 0)
print(os.read(read_end, 4096).decode())
"""

ENV = {"PATH": "/usr/bin:/bin", "APP_ENV": "development", "VAR_DIR": str(ROOT / "var" / "probe")}


def _copied_kb(hook: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, hook],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env=ENV,
    )
    return int(json.loads(done.stdout.strip().splitlines()[-1])["copied_kb"])


@pytest.mark.skipif(not Path("/proc/self/smaps_rollup").exists(), reason="needs Linux /proc smaps_rollup")
@pytest.mark.parametrize("hook", ["gunicorn_pre_fork", "celery_process_init"])
def test_a_collection_after_the_fork_hook_copies_almost_none_of_the_parent(hook: str) -> None:
    """With no hook a child's collection copies over 10 MB of the parent; after either hook, under 2 MB."""
    assert _copied_kb("none") > 10_000
    assert _copied_kb(hook) < 2_000
