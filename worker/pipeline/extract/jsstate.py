"""The state a page's JavaScript hands its app, read into Python values for extract/state.py to walk.

A script's assignment (`window.X = …`, `var X = …`) is read as JSON, as a JavaScript object
literal (chompjs), from `JSON.parse("…")` or from Nuxt 2's `__NUXT__` function call; Next.js App
Router's flight rows are read as JSON. Anything else comes back as its source text, and every
read is bounded (MAX_ASSIGNMENTS, MAX_FLIGHT_ROWS, MAX_NODES). The forms are described in
docs/scoring.md §0 ("Web-app state").
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from itertools import islice
from typing import Any

import chompjs

from worker.pipeline.extract.structured import LENIENT_DECODER, load_lenient_json

STATE_ASSIGNMENT = re.compile(
    r"(?:\bwindow\s*(?:\.\s*[A-Za-z_$][\w$]*|\[\s*[\"'][^\"']{1,64}[\"']\s*\])"  # window.X, window["X"]
    r"|\b(?:var|let|const)\s+[A-Za-z_$][\w$]*)"  # var X
    r"\s*=\s*(?=\{|JSON\.parse\(\s*[\"'])"
)
JSON_PARSE_CALL = re.compile(r"JSON\.parse\(\s*")
# A JavaScript string literal, either quote; \\. takes any escaped character, the quote included.
JS_STRING = {quote: re.compile(rf"{quote}((?:[^{quote}\\]|\\.)*){quote}", re.DOTALL) for quote in "\"'"}
# An escape in a JavaScript string (JSON has fewer: \x41, \', a line continuation), or a bare ".
JS_ESCAPE = re.compile(r'\\(x[0-9a-fA-F]{2}|[\s\S])|"')
JSON_ESCAPES = frozenset('"\\/bfnrtu')
NUXT2_CALL = re.compile(r"\b__NUXT__\s*=\s*\(\s*function\s*\(([\w$\s,]*)\)\s*\{")
RETURNED_OBJECT = re.compile(r"\breturn\s*(?=\{)")
NEXT_FLIGHT_PUSH = re.compile(r"\bself\.__next_f\.push\(\[\s*1\s*,\s*(?=\")")
FLIGHT_ROW = re.compile(r"^[0-9a-f]{1,8}:(?=[\[{])", re.MULTILINE)
MAX_ASSIGNMENTS = 4  # per script
MAX_FLIGHT_ROWS = 200  # per script
MAX_NODES = 20_000


def assigned_states(text: str) -> Iterator[Any]:
    """Each state the script hands over, as Python values: Next.js's flight rows, Nuxt 2's, then assignments."""
    yield from flight_rows(text)
    nuxt = nuxt2_state(text)
    if nuxt is not None:
        yield nuxt
    for match in islice(STATE_ASSIGNMENT.finditer(text), MAX_ASSIGNMENTS):
        call = JSON_PARSE_CALL.match(text, match.end())
        state = parsed_string(text, call.end()) if call is not None else object_literal(text, match.end())
        if state is not None:
            yield state


def flight_rows(text: str) -> Iterator[Any]:
    """The JSON rows of the React Server Components payload a `self.__next_f.push([1,"…"])` script streams."""
    push = NEXT_FLIGHT_PUSH.search(text)
    if push is None:
        return
    try:
        payload = LENIENT_DECODER.raw_decode(text, push.end())[0]
    except ValueError:
        return
    if not isinstance(payload, str):
        return
    for row in islice(FLIGHT_ROW.finditer(payload), MAX_FLIGHT_ROWS):
        try:
            yield LENIENT_DECODER.raw_decode(payload, row.end())[0]
        except (ValueError, RecursionError):
            continue


def object_literal(text: str, start: int) -> Any:
    """The object literal at `start`: JSON if it is JSON, else as chompjs reads JavaScript; None if broken."""
    try:
        return LENIENT_DECODER.raw_decode(text, start)[0]
    except (ValueError, RecursionError):
        pass
    try:
        return chompjs.parse_js_object(text[start:])
    except (ValueError, RecursionError):
        return None


def parsed_string(text: str, start: int) -> Any:
    """What `JSON.parse` makes of the JavaScript string literal at `start`; None if either is broken.

    A double-quoted literal is most often a JSON string as it stands (JSON.stringify wrote it), read
    by the JSON decoder; otherwise its JavaScript-only escapes are rewritten first (a tenth of the speed).
    """
    json_text = None
    if text[start] == '"':
        with contextlib.suppress(ValueError):
            json_text = LENIENT_DECODER.raw_decode(text, start)[0]
    if not isinstance(json_text, str):
        literal = JS_STRING[text[start]].match(text, start)
        if literal is None:
            return None
        try:
            json_text = LENIENT_DECODER.decode(f'"{JS_ESCAPE.sub(_json_escape, literal.group(1))}"')
        except ValueError:
            return None
    return load_lenient_json(json_text)


def _json_escape(match: re.Match[str]) -> str:
    """One JavaScript-only escape (or a bare double quote) as JSON writes it inside a string."""
    escaped = match.group(1)
    if escaped is None:
        return '\\"'
    if escaped in JSON_ESCAPES:
        return match.group(0)
    if escaped.startswith("x"):
        return "\\u00" + escaped[1:]
    if escaped == "0":
        return "\\u0000"
    return "" if escaped in "\r\n\u2028\u2029" else escaped  # a line continuation, or \' → '


def nuxt2_state(text: str) -> Any:
    """The object Nuxt 2's `__NUXT__` function returns, its parameters replaced by the call's arguments."""
    call = NUXT2_CALL.search(text)
    if call is None:
        return None
    returned = RETURNED_OBJECT.search(text, call.end())
    if returned is None:
        return None
    state = object_literal(text, returned.end())
    if not isinstance(state, dict):
        return None
    names = [name.strip() for name in call.group(1).split(",") if name.strip()]
    arguments = _call_arguments(text, returned.end())
    if names and arguments is not None:
        _substitute(state, dict(zip(names, arguments, strict=False)))
    return state


def _call_arguments(text: str, body_start: int) -> list[Any] | None:
    """The arguments of the call closing the script: `}(…))` or `})(…)`, the last such opening."""
    inner, outer = text.rfind("}(", body_start), text.rfind("})(", body_start)
    if inner < 0 and outer < 0:
        return None
    start, closing = (inner + 2, 2) if inner > outer else (outer + 3, 1)
    tail = text[start:].rstrip().rstrip(";").rstrip()
    if not tail.endswith(")" * closing):
        return None
    try:
        arguments: object = chompjs.parse_js_object(f"[{tail[: len(tail) - closing]}]")
    except (ValueError, RecursionError):
        return None
    return arguments if isinstance(arguments, list) else None


def _substitute(state: dict[str, Any], values: dict[str, Any]) -> None:
    """Replace, in place, every string value of `state` that is a parameter's name with its argument."""
    stack: list[Any] = [state]
    visited = 0
    while stack and visited < MAX_NODES:
        node = stack.pop()
        visited += 1
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in list(items):
            if isinstance(value, str) and value in values:
                node[key] = values[value]
            elif isinstance(value, dict | list):
                stack.append(value)
