"""Pages of storefronts built as web apps, whose galleries are mostly in the state handed to the browser:
a Nuxt 3 shop (devalue's `__NUXT_DATA__` payload), a Nuxt 2 one (its `__NUXT__` function call), a React shop (`JSON.parse("…")` of its store) and
a fashion shop whose state knows the product only by the id at the end of its URL, and a Next.js App
Router shop whose product reaches the browser in its React Server Components rows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tests.shopsite.platforms.kit import add_photos, add_state_only_junk, chrome_page, related_cards
from tests.shopsite.site import PageTruth, SiteWriter


@dataclass(frozen=True)
class Wrapped:
    """A value devalue writes as a typed array: Nuxt's `["Reactive", i]`, `["ShallowReactive", i]`, `["Date", "…"]`."""

    kind: str
    value: Any


def devalue_payload(root: Any) -> list[Any]:
    """`root` as devalue flattens it: one array, containers holding indices, each string written once."""
    values: list[Any] = []
    strings: dict[str, int] = {}

    def put(value: Any) -> int:
        if isinstance(value, str) and value in strings:
            return strings[value]
        index = len(values)
        values.append(None)
        if isinstance(value, Wrapped):  # a Date holds its text itself
            values[index] = [value.kind, value.value if value.kind == "Date" else put(value.value)]
        elif isinstance(value, dict):
            values[index] = {key: put(item) for key, item in value.items()}
        elif isinstance(value, list):
            values[index] = [put(item) for item in value]
        else:
            values[index] = value
            if isinstance(value, str):
                strings[value] = index
        return index

    put(root)
    return values


def _single_quoted(text: str) -> str:
    """`text` as a single-quoted JavaScript string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def nuxt_storefront(writer: SiteWriter, seed: int) -> PageTruth:
    """Nuxt 3: the server renders the first slide only; the gallery is in `__NUXT_DATA__` (useAsyncData's
    product beside its recommendations), and the recommendation cards are in the markup too."""
    handle = f"linen-shirt-{seed}"
    views = add_photos(
        writer,
        [f"/images/products/{handle}-{index}.jpg" for index in range(4)],
        seed * 10 + 600,
        ("hero", "product", "product", "lifestyle"),
    )
    others = [f"/images/products/chino-{seed}-{index}.jpg" for index in range(3)]
    cards = related_cards(
        writer, others, '<section class="recommendations">', link=lambda i: f"/products/chino-{seed}-{i}"
    )
    recommended = [
        {"id": seed * 100 + i, "handle": f"chino-{seed}-{i}", "images": [{"url": path}]}
        for i, path in enumerate(others)
    ]
    product = {
        "id": seed * 100 + 50,
        "handle": handle,
        "title": "Linen shirt",
        "createdAt": Wrapped("Date", "2024-03-01T10:00:00.000Z"),
        "images": [{"url": view, "altText": "Linen shirt"} for view in views],
    }
    payload = devalue_payload(
        Wrapped(
            "ShallowReactive",
            {
                "data": Wrapped(
                    "ShallowReactive",
                    {
                        f"recommendations-{handle}": recommended,
                        f"product-{handle}": Wrapped("Reactive", product),
                    },
                ),
                "state": {},
                "_errors": Wrapped("ShallowReactive", {}),
                "serverRendered": True,
                "path": f"/products/{handle}",
            },
        )
    )
    first = views[0]
    body = (
        f'<div id="__nuxt"><div class="product-page"><div class="product-gallery"><div class="swiper">'
        f'<div class="swiper-wrapper"><div class="swiper-slide swiper-slide-active">'
        f'<img src="{first}" alt="Linen shirt" width="800" height="800" loading="eager"></div></div></div></div>'
        f'<div class="product-info"><h1>Linen shirt</h1><button class="add-to-cart">Add to cart</button></div>'
        f"</div>{cards}</div>"
        f'<script type="application/json" data-nuxt-data="nuxt-app" data-ssr="true" id="__NUXT_DATA__">'
        f"{json.dumps(payload)}</script>"
        f'<script>window.__NUXT__={{}};window.__NUXT__.config={{public:{{}},app:{{baseURL:"/"}}}}</script>'
    )
    head = f'<meta property="og:image" content="{first}">'
    return chrome_page(writer, f"/products/{handle}", "Linen shirt", head, body)


def react_state(writer: SiteWriter, seed: int) -> PageTruth:
    """A React storefront that hands its Redux store over as `JSON.parse("…")` (single quotes on odd seeds),
    with only a skeleton and og:image in the markup; recently viewed products sit in the store too."""
    slug = f"walnut-desk-{seed}"
    views = add_photos(writer, [f"/assets/pdp/{slug}-{index}.jpg" for index in range(3)], seed * 10 + 650)
    viewed = [f"/assets/pdp/oak-shelf-{seed}-{index}.jpg" for index in range(2)]
    add_state_only_junk(writer, viewed)
    store = {
        "recentlyViewed": {
            "items": [{"slug": f"oak-shelf-{seed}-{i}", "images": [p]} for i, p in enumerate(viewed)]
        },
        "pdp": {
            "product": {
                "slug": slug,
                "name": "Walnut desk",
                "description": 'Solid walnut, 120 cm. It\'s "the" desk.',
                "media": {"images": [{"src": view, "alt": "Walnut desk"} for view in views]},
            }
        },
    }
    text = json.dumps(store).replace("/", "\\/")  # PHP-style escaped slashes, legal in both literals
    literal = _single_quoted(text) if seed % 2 else json.dumps(text)
    body = (
        '<div id="root"><div class="pdp-skeleton"></div></div>'
        f"<script>window.__PRELOADED_STATE__ = JSON.parse({literal});</script>"
    )
    head = f'<meta property="og:image" content="{views[0]}">'
    return chrome_page(writer, f"/products/{slug}", "Walnut desk", head, body)


def fashion_spa(writer: SiteWriter, seed: int) -> PageTruth:
    """A fashion shop whose URL ends with the product id (`…/linen-dress-p-81234567.html`) and whose state names
    the product by that id only; "complete the look" products sit before it in the same state."""
    product_id = f"8{seed:03d}4567"
    views = add_photos(
        writer,
        [f"/assets/media/{product_id}-{index}.jpg" for index in range(3)],
        seed * 10 + 700,
        ("hero", "product", "lifestyle"),
    )
    look = [f"/assets/media/9{seed:03d}000{index}-0.jpg" for index in range(2)]
    add_state_only_junk(writer, look)
    state = {
        "completeTheLook": [
            {"productId": f"9{seed:03d}000{i}", "gallery": [{"zoom": path}]} for i, path in enumerate(look)
        ],
        "pdp": {
            "product": {
                "productId": product_id,
                "name": "Linen dress",
                "gallery": [{"zoom": view, "thumb": view} for view in views],
            }
        },
    }
    body = (
        '<div id="app"><div class="pdp-loading"></div></div>'
        f"<script>window.__APP_STATE__ = {json.dumps(state)};</script>"
    )
    head = f'<meta property="og:image" content="{views[0]}">'
    return chrome_page(writer, f"/women/dresses/linen-dress-p-{product_id}.html", "Linen dress", head, body)


def nuxt2_call(root: Any) -> str:
    """`root` as Nuxt 2 writes `__NUXT__`: a function call whose arguments are the strings used twice or more,
    named by parameters inside a JavaScript object literal (keys unquoted, `/` escaped as `\\u002F`)."""
    counts: dict[str, int] = {}

    def count(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                count(item)
        elif isinstance(value, list):
            for item in value:
                count(item)
        elif isinstance(value, str):
            counts[value] = counts.get(value, 0) + 1

    count(root)
    shared = [value for value, seen in counts.items() if seen > 1]
    names = {value: "abcdefghijklmnopqrstuvwxyz"[index] for index, value in enumerate(shared[:26])}

    def literal(value: Any) -> str:
        if isinstance(value, dict):
            return "{" + ",".join(f"{key}:{literal(item)}" for key, item in value.items()) + "}"
        if isinstance(value, list):
            return "[" + ",".join(literal(item) for item in value) + "]"
        if isinstance(value, str):
            return names.get(value) or json.dumps(value).replace("/", "\\u002F")
        return "void 0" if value is None else json.dumps(value)

    parameters = ",".join(names.values())
    arguments = ",".join(json.dumps(value).replace("/", "\\u002F") for value in names)
    return f"window.__NUXT__=(function({parameters}){{return {literal(root)}}}({arguments}));"


def nuxt2_storefront(writer: SiteWriter, seed: int) -> PageTruth:
    """Nuxt 2: only a skeleton and og:image in the markup; the product (beside recently viewed ones) is in the
    `__NUXT__` function call, its handle and hero URL passed as arguments because they occur twice."""
    handle = f"wool-scarf-{seed}"
    views = add_photos(writer, [f"/img/catalog/{handle}-{index}.jpg" for index in range(3)], seed * 10 + 750)
    viewed = f"/img/catalog/beanie-{seed}.jpg"
    add_state_only_junk(writer, [viewed])
    state = {
        "layout": "default",
        "data": [
            {
                "recentlyViewed": [{"handle": f"beanie-{seed}", "images": [{"src": viewed}]}],
                "product": {
                    "handle": handle,
                    "featuredImage": {"src": views[0]},
                    "images": [{"src": view, "alt": "Wool scarf"} for view in views],
                    "compareAt": None,
                },
            }
        ],
        "routePath": f"/products/{handle}",
        "serverRendered": True,
    }
    body = f'<div id="__nuxt"><div class="page-loading"></div></div><script>{nuxt2_call(state)}</script>'
    head = f'<meta property="og:image" content="{views[0]}">'
    return chrome_page(writer, f"/products/{handle}", "Wool scarf", head, body)


def _flight_push(rows: list[Any]) -> str:
    """A Next.js App Router script streaming React Server Components rows `<id>:<JSON>` (and a module row)."""
    payload = "".join(f"{index:x}:{json.dumps(row)}\n" for index, row in enumerate(rows))
    payload += f'{len(rows):x}:I["4521",["static/chunks/4521.js"],"AddToCart"]\n'
    return f"<script>self.__next_f.push([1,{json.dumps(payload)}])</script>"


def next_app_router(writer: SiteWriter, seed: int) -> PageTruth:
    """Next.js App Router: the markup shows the first photo only; the product (all its images) reaches the
    browser as the props of a client component in the flight rows, beside the rendered related-product tiles."""
    handle = f"canvas-tote-{seed}"
    views = add_photos(writer, [f"/images/shop/{handle}-{index}.jpg" for index in range(3)], seed * 10 + 800)
    others = [f"/images/shop/weekender-{seed}-{index}.jpg" for index in range(2)]
    tiles = related_cards(
        writer,
        others,
        '<section class="related"><h2>Related Products</h2>',
        link=lambda i: f"/product/weekender-{i}",
    )
    product = {
        "id": f"gid://shopify/Product/{seed}",
        "handle": handle,
        "title": "Canvas tote",
        "featuredImage": {"url": views[0], "altText": "Canvas tote", "width": 1000, "height": 1000},
        "images": [{"url": view, "altText": "Canvas tote"} for view in views],
    }
    rows = [
        ["$", "$L1", None, {"children": ["$", "main", None, {"className": "mx-auto max-w-screen-2xl"}]}],
        [
            "$",
            "div",
            None,
            {"children": [["$", "img", None, {"src": path, "alt": "Weekender"}] for path in others]},
        ],
        ["$", "$L5", None, {"product": product}],
    ]
    body = (
        f'<div class="mx-auto max-w-screen-2xl"><div class="relative aspect-square h-full w-full">'
        f'<img alt="Canvas tote" fetchpriority="high" class="h-full w-full object-contain" src="{views[0]}"></div>'
        f'<div class="basis-full lg:basis-2/6"><h1 class="mb-2 text-5xl font-medium">Canvas tote</h1></div></div>'
        f"{tiles}{_flight_push(rows)}"
    )
    head = f'<meta property="og:image" content="{views[0]}">'
    return chrome_page(writer, f"/product/{handle}", "Canvas tote", head, body)
