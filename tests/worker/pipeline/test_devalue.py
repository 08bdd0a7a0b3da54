"""devalue payloads (Nuxt 3's `__NUXT_DATA__`) rebuilt as trees, within bounds."""

from __future__ import annotations

import pytest

from worker.pipeline.extract.devalue import MAX_NODES, unflatten


def test_indices_are_resolved_and_shared_strings_written_once():
    payload = [{"a": 1, "b": 2, "c": 1}, "mug", [1, 3], 4.5]
    assert unflatten(payload) == {"a": "mug", "b": ["mug", 4.5], "c": "mug"}


def test_vue_wrappers_stand_for_the_value_they_wrap():
    payload = [["ShallowReactive", 1], {"data": 2, "ref": 4}, ["Reactive", 3], {"slug": 5}, ["Ref", 5], "mug"]
    assert unflatten(payload) == {"data": {"slug": "mug"}, "ref": "mug"}


@pytest.mark.parametrize(
    ("typed", "value"),
    [
        (["Set", 2, 3], ["x", 7]),
        (["Map", 2, 3], {"x": 7}),
        (["null", "x", 3], {"x": 7}),
        (["Date", "2024-03-01T10:00:00.000Z"], "2024-03-01T10:00:00.000Z"),
        (["BigInt", "12345678901234567890"], "12345678901234567890"),
        (["RegExp", "a+", "g"], None),
        (["SomePluginType", 2], None),
    ],
)
def test_typed_values(typed, value):
    assert unflatten([{"v": 1}, typed, "x", 7]) == {"v": value}


def test_negative_indices_and_out_of_range_ones_are_none():
    """-1 is undefined, -3 NaN, -4 Infinity in devalue; an index past the end is broken: all None."""
    assert unflatten([{"a": -1, "b": -3, "c": 99, "d": True}]) == {"a": None, "b": None, "c": None, "d": None}


def test_a_cycle_comes_back_as_the_same_object():
    result = unflatten([{"self": 0, "name": 1}, "mug"])
    assert result["self"] is result and result["name"] == "mug"


def test_a_payload_is_rebuilt_within_its_bounds():
    """A chain deeper than MAX_DEPTH is cut, and at most MAX_NODES containers are built, however many it holds."""
    deep = [[index + 1] for index in range(5000)] + ["bottom"]
    node, depth = unflatten(deep), 0
    while isinstance(node, list) and node:
        node, depth = node[0], depth + 1
    assert node is None and depth < 100
    wide = [list(range(1, MAX_NODES * 2 + 1)), *([[]] * (MAX_NODES * 2))]
    rebuilt = unflatten(wide)
    assert sum(item == [] for item in rebuilt) == MAX_NODES - 1


@pytest.mark.parametrize("payload", [None, [], {"a": 1}, "text", 3])
def test_what_is_not_a_payload_gives_none(payload):
    assert unflatten(payload) is None
