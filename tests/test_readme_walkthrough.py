"""The README's first walkthrough, run as written: `make run` in a fresh clone, then the shell block.

The clone holds the checkout's files and no var/. Its .venv is a new virtual environment that
sees this test run's installed packages (a .pth file), so `make run` does what it does on a
first run (pip checks requirements.txt, installs the project editable for `.venv/bin/scraper`)
without the index (PIP_NO_INDEX) and without touching the test run's own environment. The
scrape reaches nothing but the demo shop `make run` serves on loopback.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import sysconfig
import threading
import time
from pathlib import Path

import pytest

from tests import services
from tests.processes import ROOT

pytestmark = pytest.mark.e2e

MARKER = "<!-- walkthrough: tests/test_readme_walkthrough.py runs this block as it is -->"
READY_TIMEOUT = 240.0


PAGINATION_LEAD = "campaigns, ten at a time:"


def block_after(text: str) -> str:
    """The ```sh block that follows `text` in the README."""
    after = (ROOT / "README.md").read_text().split(text, 1)[1]
    match = re.match(r"\s*```sh\n(.*?)```", after, flags=re.DOTALL)
    assert match, f"a shell block follows {text!r}"
    return match.group(1)


def walkthrough_block() -> str:
    # The pagination example runs after it, in the same shell (it uses $API and $KEY).
    return block_after(MARKER) + 'echo "--- pagination"\n' + block_after(PAGINATION_LEAD)


def fresh_clone(target: Path) -> Path:
    """The checkout's files (tracked or new, not ignored) in `target`, with no var/ and no .venv."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT, check=True, capture_output=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).write_bytes(source.read_bytes())
            (target / name).chmod(source.stat().st_mode)
    return target


def venv_seeing_our_packages(clone: Path) -> None:
    """clone/.venv: a new environment whose site-packages also reads this run's (installed nothing)."""
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(clone / ".venv")], check=True)
    ours = sysconfig.get_paths()["purelib"]
    theirs = subprocess.run(
        [str(clone / ".venv/bin/python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    Path(theirs, "outer-packages.pth").write_text(ours + "\n")


def test_the_readme_walkthrough_scrapes_the_demo_shop_from_a_fresh_clone(tmp_path):
    clone = fresh_clone(tmp_path / "clone")
    venv_seeing_our_packages(clone)
    port = services.free_port_pair()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("VIRTUAL_ENV", "PYTHON", "PIP_"))
    }
    env.update(PORT=str(port), PIP_NO_INDEX="1", PYTHONUNBUFFERED="1")
    log = tmp_path / "make-run.log"
    output: list[str] = []
    with log.open("w") as sink:
        make = subprocess.Popen(
            ["make", "run"], cwd=clone, env=env, stdout=subprocess.PIPE, stderr=sink, text=True,
            start_new_session=True,
        )  # fmt: skip

        def read() -> None:
            assert make.stdout is not None
            for line in make.stdout:
                output.append(line.rstrip("\n"))

        threading.Thread(target=read, daemon=True).start()
        try:
            deadline = time.monotonic() + READY_TIMEOUT
            while not any(line.startswith("API key: ") for line in output):
                assert make.poll() is None, "\n".join(output) + log.read_text()[-4000:]
                assert time.monotonic() < deadline, "\n".join(output) + log.read_text()[-4000:]
                time.sleep(0.2)
            walk = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", walkthrough_block()],
                cwd=clone, env=env, capture_output=True, text=True, timeout=240, check=False,
            )  # fmt: skip
        finally:
            os.killpg(make.pid, signal.SIGINT)
            make.wait(timeout=60)

    assert walk.returncode == 0, walk.stdout[-3000:] + walk.stderr[-3000:] + log.read_text()[-3000:]
    assert "Installing dependencies into .venv (about a minute the first time)..." in output
    assert output[-2:] == [
        f"API: http://127.0.0.1:{port}",
        f"API key: {(clone / 'var/dev-api-key').read_text().strip()}",
    ]
    assert re.search(r'"status": ?"succeeded"', walk.stdout), walk.stdout[-3000:]
    assert f"http://127.0.0.1:{port}/files/campaigns/" in walk.stdout
    assert "succeeded: found" in walk.stdout  # the scraper command's summary line
    assert '"name": "Kettles"' in walk.stdout.replace('":"', '": "')
    assert '"name": "Espresso launch"' in walk.stdout.replace('":"', '": "')
    assert (clone / ".venv/bin/scraper").is_file()
    listed = walk.stdout.split("--- pagination", 1)[1].strip().splitlines()
    assert len(listed) == 2
    assert " Kettles " in listed[0] and " Espresso launch " in listed[1]
