"""JavaScript state read into Python values (jsstate.py): each way a script hands it over, and hostile scripts."""

from __future__ import annotations

import json

import pytest

from worker.pipeline.extract.jsstate import (
    MAX_ASSIGNMENTS,
    MAX_FLIGHT_ROWS,
    assigned_states,
    flight_rows,
    nuxt2_state,
)


@pytest.mark.parametrize(
    ("script", "state"),
    [
        ('window.S = {"a": [1, 2]};', {"a": [1, 2]}),
        ("var s = {a: 'x', b: [1, 2,], c: undefined};", {"a": "x", "b": [1, 2], "c": "undefined"}),
        ('const s = JSON.parse(\'{"a": "it\\\'s"}\');', {"a": "it's"}),
        ('window["S"] = JSON.parse("{\\"a\\": 1}")', {"a": 1}),
    ],
)
def test_each_assignment_gives_its_value(script, state):
    assert list(assigned_states(script)) == [state]


def test_nuxt2s_parameters_take_their_arguments_and_other_strings_stay():
    script = 'window.__NUXT__=(function(a,b){return {x:a,y:[b,"ab"],z:{w:b}}}("one",2));'
    assert nuxt2_state(script) == {"x": "one", "y": [2, "ab"], "z": {"w": 2}}
    # chompjs reads a name and a string alike: a string that is a parameter's name is replaced too.
    assert nuxt2_state(script.replace('"ab"', '"a"')) == {"x": "one", "y": [2, "one"], "z": {"w": 2}}


@pytest.mark.parametrize(
    "script",
    [
        "var s = {" * 50_000,  # never closed
        "var s = {a:" + "[" * 100_000 + "]" * 100_000 + "};",  # nested past the decoder's recursion limit
        'var s = JSON.parse(\'{"a": 1}',  # an unterminated literal
        "var s = JSON.parse('not json');",
        'window.__NUXT__=(function(a){return {x:a}}("one",));x',  # arguments that do not close the call
        "window.__NUXT__=(function(a){return a}(1));",  # no object returned
    ],
)
def test_broken_or_hostile_scripts_give_no_state_and_no_error(script):
    states = list(assigned_states(script))
    assert all(state is None or isinstance(state, dict) for state in states)
    assert all("x" not in state or state["x"] != "one" for state in states)


def test_at_most_max_assignments_are_read():
    script = "".join(f"var s{index} = {{a: {index}}};" for index in range(MAX_ASSIGNMENTS * 3))
    assert len(list(assigned_states(script))) == MAX_ASSIGNMENTS


def _push(payload: str) -> str:
    return f"self.__next_f.push([1,{json.dumps(payload)}])"


def test_next_flight_rows_that_are_json_are_states_and_typed_rows_are_left():
    payload = (
        '0:["$","$L1",null,{"product":{"handle":"mug"}}]\n'
        '1:I["4521",["static/chunks/4521.js"],"AddToCart"]\n'
        "2:T11,hello world\n"
        '3:{"images":["/a.jpg"]}\n'
        '4:HL["/_next/static/css/a.css","style"]\n'
    )
    assert list(flight_rows(_push(payload))) == [
        ["$", "$L1", None, {"product": {"handle": "mug"}}],
        {"images": ["/a.jpg"]},
    ]


@pytest.mark.parametrize(
    "script",
    [
        "self.__next_f.push([0])",  # the bootstrap push, no payload
        'self.__next_f.push([1,"0:[1,2"])',  # a row cut off
        'self.__next_f.push([1,"unterminated',
        _push("0:" + "[" * 100_000 + "]" * 100_000 + "\n"),
    ],
)
def test_broken_flight_pushes_give_nothing(script):
    assert list(flight_rows(script)) == []


def test_at_most_max_flight_rows_are_read():
    payload = "".join(f'{index:x}:{{"a":{index}}}\n' for index in range(MAX_FLIGHT_ROWS * 2))
    assert len(list(flight_rows(_push(payload)))) == MAX_FLIGHT_ROWS
