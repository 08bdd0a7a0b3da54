"""Import boundaries, checked in fresh interpreters, and an import graph without cycles.

- The worker (tasks, callbacks, pipeline) never loads Flask.
- No API route, nor the CLI, loads the pipeline's heavy libraries (lxml, Pillow, numpy) when imported.
- The data layer both processes share loads neither Flask nor Celery.
- No import cycle between packages or between modules (scripts/import_graph.py, read with `ast`),
  nor in the benchmarks and the shop sites they share with the tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from scripts.import_graph import BENCH_PACKAGES, Edge, find_cycle, import_time, module_edges, package_edges

ROOT = Path(__file__).resolve().parent.parent

# Import the named module (with "walk": then every submodule of the package, one after the other)
# and report, for each module, the forbidden top-level packages that importing it loaded first.
PROBE = """
import importlib, json, pkgutil, sys
target, forbidden, walk = sys.argv[1], sys.argv[2].split(","), sys.argv[3] == "walk"
skip = set(sys.argv[4].split(",")) if len(sys.argv) > 4 else set()
found = {}
def load(name):
    before = {n for n in forbidden if n in sys.modules}
    importlib.import_module(name)
    new = sorted(n for n in forbidden if n in sys.modules and n not in before)
    if new:
        found[name] = new
load(target)
module = sys.modules[target]
for info in pkgutil.walk_packages(getattr(module, "__path__", []) if walk else [], prefix=target + "."):
    if info.name not in skip:
        load(info.name)
print(json.dumps(found))
"""

FRAMEWORKS = "flask,celery,kombu,werkzeug"
WEB = "flask,werkzeug"
PIPELINE_LIBS = "lxml,PIL,numpy"


def loaded_forbidden(
    target: str, forbidden: str = FRAMEWORKS, *, walk: bool = True, skip: tuple[str, ...] = ()
) -> dict[str, list[str]]:
    """{module: forbidden packages its import loaded}; empty when every import stayed clean."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, target, forbidden, "walk" if walk else "single", ",".join(skip)],
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
    assert loaded_forbidden("worker.pipeline") == {}


def test_no_worker_module_loads_flask():
    """Every module of the worker (tasks, callbacks, sweep, the `celery -A worker` app) loads without Flask."""
    assert loaded_forbidden("worker", WEB) == {}


@pytest.mark.parametrize("package", ["backend.api", "backend.cli", "backend.shapes", "backend.urlguard"])
def test_api_and_cli_imports_leave_the_pipeline_libraries_out(package):
    """Importing any API route, the CLI or the shared shapes and URL guard loads no lxml, Pillow or numpy."""
    assert loaded_forbidden(package, PIPELINE_LIBS) == {}


def test_pipeline_types_load_without_the_pipeline_libraries():
    """The pipeline's dataclasses (which the shapes name) import without the stages behind them."""
    assert loaded_forbidden("worker.pipeline.types", PIPELINE_LIBS, walk=False) == {}


def test_probe_names_the_module_that_loads_a_forbidden_package():
    """The probe can fail: the orchestration module does load the pipeline's libraries."""
    found = loaded_forbidden("worker.pipeline.run", PIPELINE_LIBS, walk=False)
    assert set(found["worker.pipeline.run"]) == {"lxml", "PIL", "numpy"}


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
        "backend.shapes",
        "backend.urlguard",
    ],
)
def test_data_layer_imports_neither_flask_nor_celery(module):
    """The data layer both processes share loads without Flask or Celery."""
    assert loaded_forbidden(module) == {}


def test_importing_backend_package_stays_cheap():
    """`import backend` (which the worker and CLI do) does not pull in Flask or Celery."""
    assert loaded_forbidden("backend", "flask,celery", walk=False) == {}


# --- the import graph ---------------------------------------------------------------------------


def test_no_import_cycle_between_packages():
    """backend, backend.api, backend.urlguard, worker and worker.pipeline import in one direction only."""
    assert find_cycle(import_time(package_edges())) is None


def test_no_import_cycle_between_modules():
    assert find_cycle(import_time(module_edges())) is None


def test_no_import_cycle_in_the_benchmarks_and_shop_sites():
    """bench and tests.shopsite: no cycle between packages or modules, not even through a deferred import."""
    edges = module_edges(ROOT, BENCH_PACKAGES)
    assert Edge("bench.run_service", "bench.service_client", deferred=True) in edges
    assert find_cycle(edges) is None
    assert find_cycle(package_edges(ROOT, BENCH_PACKAGES)) is None


def test_worker_never_imports_the_api_package():
    """Nothing in the worker, not even deferred, reaches into backend.api (Flask's blueprints)."""
    assert [
        edge for edge in package_edges() if edge.source.startswith("worker") and edge.target == "backend.api"
    ] == []


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    return root


def test_graph_finds_a_cycle_between_packages(tmp_path):
    """A worker module importing an API module that imports the worker is a cycle between packages."""
    root = _tree(
        tmp_path,
        {
            "backend/__init__.py": "",
            "backend/api/__init__.py": "",
            "backend/api/routes.py": "from worker import tasks\n",
            "worker/__init__.py": "",
            "worker/tasks.py": "from backend.api.routes import x\n",
        },
    )
    assert find_cycle(import_time(package_edges(root))) == ["backend.api", "worker", "backend.api"]


def test_a_stage_subpackage_counts_as_its_layer_but_its_module_cycles_do_not_hide(tmp_path):
    """worker.pipeline.extract using worker.pipeline.types is inside the pipeline; a module cycle still shows."""
    files = {
        "backend/__init__.py": "",
        "worker/__init__.py": "",
        "worker/pipeline/__init__.py": "",
        "worker/pipeline/types.py": "",
        "worker/pipeline/run.py": "from worker.pipeline.extract.candidates import f\n",
        "worker/pipeline/extract/__init__.py": "",
        "worker/pipeline/extract/candidates.py": "from worker.pipeline.types import Page\n",
    }
    root = _tree(tmp_path, files)
    assert find_cycle(import_time(package_edges(root))) is None
    assert find_cycle(import_time(module_edges(root))) is None
    _tree(tmp_path, {"worker/pipeline/types.py": "from worker.pipeline.extract import candidates\n"})
    assert find_cycle(import_time(module_edges(root))) == [
        "worker.pipeline.extract.candidates",
        "worker.pipeline.types",
        "worker.pipeline.extract.candidates",
    ]


def test_graph_tells_deferred_imports_and_ignores_type_checking_ones(tmp_path):
    root = _tree(
        tmp_path,
        {
            "backend/__init__.py": "",
            "backend/cli.py": """
                from typing import TYPE_CHECKING
                if TYPE_CHECKING:
                    from worker.tasks import Task
                def main():
                    from worker import runner
            """,
            "worker/__init__.py": "",
            "worker/tasks.py": "import backend.cli\n",
            "worker/runner.py": "from . import tasks\n",
        },
    )
    assert module_edges(root) == [
        Edge("backend.cli", "worker.runner", deferred=True),
        Edge("worker.runner", "worker.tasks", deferred=False),
        Edge("worker.tasks", "backend.cli", deferred=False),
    ]
    assert find_cycle(import_time(module_edges(root))) is None
    assert find_cycle(module_edges(root)) == ["backend.cli", "worker.runner", "worker.tasks", "backend.cli"]
