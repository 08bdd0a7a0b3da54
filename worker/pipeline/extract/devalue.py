"""Nuxt 3's page payload (`<script id="__NUXT_DATA__">`): devalue's flat JSON array, rebuilt as a tree.

devalue, the serializer Nuxt 3 uses for the state it hands the browser, writes a value graph as
one JSON array. Item 0 is the root; an object's values and an array's items are indices into the
array (so a string used twice is written once). An array starting with a string is a typed
value: Vue's wrappers `["Reactive", i]`, `["ShallowReactive", i]`, `["Ref", i]`,
`["ShallowRef", i]` and a boxed `["Object", i]` stand for item i; `["Set", i, …]` is read as a
list, `["Map", k, v, …]` and `["null", key, i, …]` (an object without a prototype) as dicts;
`["Date", "…"]` and `["BigInt", "…"]` as their text; anything else (a RegExp, a type a plugin
added) as None. Negative indices are constants (undefined, NaN, ±Infinity, -0): None.

The payload is a stranger's: the rebuild is bounded (MAX_NODES containers, MAX_DEPTH levels),
and a shared item is rebuilt once, so a cycle comes back as the same object, not a loop.
"""

from __future__ import annotations

from typing import Any

MAX_NODES = 20_000
MAX_DEPTH = 40  # wrappers take a level each, so twice or more the depth of the state itself
WRAPPERS = frozenset({"Reactive", "ShallowReactive", "Ref", "ShallowRef", "Object"})
TEXT_TYPES = frozenset({"Date", "BigInt"})


class _Rebuild:
    def __init__(self, values: list[Any]) -> None:
        self.values = values
        self.done: dict[int, Any] = {}
        self.budget = MAX_NODES

    def item(self, index: Any, depth: int) -> Any:
        """Item `index` rebuilt; None for a constant, a broken index, or past the bounds."""
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < len(self.values):
            return None
        if index in self.done:
            return self.done[index]
        value = self.values[index]
        if not isinstance(value, dict | list):
            return value
        if depth > MAX_DEPTH or self.budget <= 0:
            return None
        self.budget -= 1
        return self.container(index, value, depth)

    def container(self, index: int, value: dict[str, Any] | list[Any], depth: int) -> Any:
        if isinstance(value, dict):
            node: dict[str, Any] = {}
            self.done[index] = node
            node.update((key, self.item(item, depth + 1)) for key, item in value.items())
            return node
        if value and isinstance(value[0], str):
            return self.typed(index, value, depth)
        items: list[Any] = []
        self.done[index] = items
        items.extend(self.item(item, depth + 1) for item in value)
        return items

    def typed(self, index: int, value: list[Any], depth: int) -> Any:
        kind, args = value[0], value[1:]
        if kind in WRAPPERS and len(args) == 1:
            result = self.item(args[0], depth + 1)
        elif kind == "Set":
            result = [self.item(item, depth + 1) for item in args]
        elif kind == "Map":
            pairs = zip(args[::2], args[1::2], strict=False)
            result = {str(self.item(key, depth + 1)): self.item(item, depth + 1) for key, item in pairs}
        elif kind == "null":
            pairs = zip(args[::2], args[1::2], strict=False)
            result = {str(key): self.item(item, depth + 1) for key, item in pairs}
        elif kind in TEXT_TYPES and args and isinstance(args[0], str):
            result = args[0]
        else:
            result = None
        self.done[index] = result
        return result


def unflatten(payload: Any) -> Any:
    """The value a devalue payload (the parsed JSON array) stands for; None if it is not one."""
    if not isinstance(payload, list) or not payload:
        return None
    return _Rebuild(payload).item(0, 0)
