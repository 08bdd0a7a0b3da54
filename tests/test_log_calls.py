"""Every log call in backend/ and worker/ is a constant event name plus keyword fields (an ast scan)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCANNED = sorted(
    [*(ROOT / "backend").rglob("*.py"), *(ROOT / "worker").rglob("*.py"), ROOT / "gunicorn.conf.py"]
)
LEVELS = {"debug", "info", "warning", "error", "exception", "critical"}
EVENT_NAME = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$")


def _problem(call: ast.Call) -> str | None:
    func = call.func
    if not (
        isinstance(func, ast.Attribute) and func.attr in LEVELS | {"log"} and isinstance(func.value, ast.Name)
    ):
        return None
    receiver = func.value.id
    if receiver == "logging":
        return "logs through the logging module's root functions: use backend.logging.get_logger"
    if "log" not in receiver.lower():
        return None
    positional = call.args[1:] if func.attr == "log" else call.args
    if not positional:
        return "has no event name"
    event, *rest = positional
    if rest:
        return "passes %-style arguments: give them as keyword fields"
    if isinstance(event, ast.JoinedStr | ast.BinOp | ast.Call):
        return "formats data into its event: give it as keyword fields"
    if isinstance(event, ast.Constant) and not (
        isinstance(event.value, str) and EVENT_NAME.match(event.value)
    ):
        return f"event {event.value!r} is not a dotted lower-case name such as 'job.claimed'"
    return None


def _stdlib_logger(node: ast.stmt) -> bool:
    """A module-level `x = logging.getLogger(...)`: a stdlib logger refuses keyword fields."""
    return (
        isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Attribute)
        and node.value.func.attr == "getLogger"
        and isinstance(node.value.func.value, ast.Name)
        and node.value.func.value.id == "logging"
    )


def log_call_problems(source: str, name: str = "<source>") -> list[str]:
    """`name:line: problem` for each log call that puts data in its message, or logger that cannot take fields."""
    tree = ast.parse(source)
    problems = [
        f"{name}:{node.lineno}: module logger from logging.getLogger"
        for node in tree.body
        if _stdlib_logger(node)
    ]
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and (problem := _problem(node)) is not None:
            problems.append(f"{name}:{node.lineno}: {problem}")
    return problems


def test_the_scan_finds_each_kind_of_formatted_call():
    """The scan is not blind: %-args, f-strings, .format, concatenation, free text and root calls are caught."""
    source = """
import logging
logger = logging.getLogger(__name__)
logger.info("job.claimed attempt=%d", 2)
logger.warning(f"job.failed {code}")
logger.error("job.failed {}".format(code))
log.info("job." + name)
logger.info("Job claimed")
logging.info("job.claimed")
logger.log(20, "job.claimed %s", 1)
logger.info("job.claimed", attempt=2)
logger.exception("pipeline.image_error", url=url)
logger.warning(failure_event, job_id=job_id)
"""
    lines = [int(problem.split(":")[1]) for problem in log_call_problems(source)]
    assert lines == [3, 4, 5, 6, 7, 8, 9, 10]


def test_no_log_call_formats_data_into_its_message():
    """backend/, worker/ and gunicorn.conf.py log `event.name` plus fields, through structlog loggers."""
    problems = [
        problem
        for path in SCANNED
        if path.name != "logging.py" or path.parent.name != "backend"
        for problem in log_call_problems(path.read_text(), str(path.relative_to(ROOT)))
    ]
    assert problems == []
