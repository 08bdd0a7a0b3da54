"""Import boundaries, checked in fresh interpreters: the pipeline and the data layer stay free of Flask and Celery."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Import the named module (with "walk": and every submodule of the package), then report which
# forbidden top-level packages ended up loaded.
PROBE = """
import importlib, json, pkgutil, sys
target, forbidden, walk = sys.argv[1], sys.argv[2].split(","), sys.argv[3] == "walk"
module = importlib.import_module(target)
for info in pkgutil.walk_packages(getattr(module, "__path__", []) if walk else [], prefix=target + "."):
    importlib.import_module(info.name)
print(json.dumps(sorted(name for name in forbidden if name in sys.modules)))
"""

FRAMEWORKS = "flask,celery,kombu,werkzeug"


def loaded_forbidden(target: str, forbidden: str = FRAMEWORKS, *, walk: bool = True) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, target, forbidden, "walk" if walk else "single"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_pipeline_imports_neither_flask_nor_celery():
    """worker.pipeline and all its modules load without Flask or Celery."""
    assert loaded_forbidden("worker.pipeline") == []


@pytest.mark.parametrize(
    "module",
    [
        "backend.settings",
        "backend.errors",
        "backend.models",
        "backend.db",
        "backend.storage",
        "backend.migrate",
        "backend.verify_migrations",
        "backend.devserver",
    ],
)
def test_data_layer_imports_neither_flask_nor_celery(module):
    """The data layer both processes share loads without Flask or Celery."""
    assert loaded_forbidden(module) == []


def test_importing_backend_package_stays_cheap():
    """`import backend` (which the worker and CLI do) does not pull in Flask or Celery."""
    assert loaded_forbidden("backend", "flask,celery", walk=False) == []
