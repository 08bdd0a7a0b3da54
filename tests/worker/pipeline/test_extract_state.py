"""The page's own product in a web app's state (extract/state.py): found by its name in the route, others left."""

from __future__ import annotations

import json

import pytest

from tests.worker.pipeline.test_extract import BASE, found
from worker.pipeline.extract import state as extract_state
from worker.pipeline.extract.links import route_key
from worker.pipeline.extract.state import MAX_NODES, page_names, product_gallery, state_images

PAGE = f"{BASE}/products/trail-shoe"


def state_page(state: object, *, assign: str = "window.__INITIAL_STATE__ = ") -> dict:
    return found(f"<script>{assign}{json.dumps(state)};</script>", url=PAGE)


def test_the_product_named_by_the_route_gives_its_gallery_and_the_others_nothing():
    """Recommendations sit in the same state; only the object whose slug is the page's is read."""
    state = {
        "catalog": {
            "recommended": [{"slug": "road-shoe", "images": [{"src": "/img/road-1.jpg"}]}],
            "current": {
                "slug": "trail-shoe",
                "name": "Trail shoe",
                "images": [{"src": "/img/trail-1.jpg"}, {"src": "/img/trail-2.jpg", "width": 2000}],
                "related": [{"slug": "sock", "images": ["/img/sock.jpg"]}],
            },
        }
    }
    result = state_page(state)
    assert set(result) == {f"{BASE}/img/trail-1.jpg", f"{BASE}/img/trail-2.jpg"}
    assert all({"platform", "gallery"} <= candidate.hints for candidate in result.values())
    assert all(candidate.source == "platform" for candidate in result.values())


@pytest.mark.parametrize(
    "assign",
    ['window["__PRELOADED_STATE__"] = ', "var product = ", "const __STATE__=", "window . pageData = "],
)
def test_each_way_a_script_hands_its_state_over(assign):
    state = {"product": {"handle": "trail-shoe", "imageList": ["https://cdn.example.com/t1.jpg"]}}
    assert set(state_page(state, assign=assign)) == {"https://cdn.example.com/t1.jpg"}


@pytest.mark.parametrize(
    "literal",
    [
        json.dumps(
            json.dumps({"product": {"handle": "trail-shoe", "images": ["/img/t1.jpg"], "note": 'a "b"'}})
        ),
        # Single quotes, escaped slashes, \x and \' escapes: JavaScript's, which JSON has not.
        r"""'{"product": {"handle": "trail-shoe", "images": ["\/img\/t1.jpg"], "note": "it\'s \x41\x42"}}'""",
    ],
)
def test_a_state_handed_over_as_json_parse_of_a_string_is_read(literal):
    """`window.__PRELOADED_STATE__ = JSON.parse("…")`: the string literal decoded, then its JSON."""
    result = found(f"<script>window.__PRELOADED_STATE__ = JSON.parse({literal});</script>", url=PAGE)
    assert set(result) == {f"{BASE}/img/t1.jpg"}


def test_an_object_literal_that_is_not_json_is_read():
    """Unquoted and single-quoted keys, trailing commas, a comment, `undefined`: JavaScript, read by chompjs."""
    script = (
        "<script>var pageState = {product: {/* pdp */ slug: 'trail-shoe', 'images': ['/img/t1.jpg',],"
        " stock: undefined,}, recommended: [{slug: 'road-shoe', images: ['/img/road.jpg']}]};</script>"
    )
    assert set(found(script, url=PAGE)) == {f"{BASE}/img/t1.jpg"}


@pytest.mark.parametrize(
    "call", ["(function(a,b,c){{{body}}}({args}));", "(function(a,b,c){{{body}}})({args});"]
)
def test_nuxt2s_function_call_is_read_with_its_arguments_in_place(call):
    """`window.__NUXT__=(function(a,b,c){return {…}}(…))`: values used twice are arguments, named by parameter."""
    body = (
        'a.self=a;return {layout:"default",data:[{related:[{handle:"road-shoe",images:[{src:c}]}],'
        'product:{handle:a,title:"Trail shoe",images:[{src:b,alt:"Trail shoe"},{src:"\\u002Fimg\\u002Ft2.jpg"}]}}],'
        "serverRendered:true}"
    )
    args = '"trail-shoe","\\u002Fimg\\u002Ft1.jpg","/img/road.jpg"'
    script = f"<script>window.__NUXT__={call.format(body=body, args=args)}</script>"
    assert set(found(script, url=PAGE)) == {f"{BASE}/img/t1.jpg", f"{BASE}/img/t2.jpg"}


def test_a_product_in_next_app_router_flight_rows_gives_its_gallery():
    """Next.js's App Router streams the props of client components; the one naming the page is read."""
    rows = (
        '0:["$","div",null,{"children":[["$","img",null,{"src":"/img/road.jpg","alt":"Road shoe"}]]}]\n'
        '1:["$","$L5",null,{"product":{"handle":"trail-shoe","images":[{"url":"/img/t1.jpg"},{"url":"/img/t2.jpg"}]}}]\n'
    )
    script = f"<script>self.__next_f.push([1,{json.dumps(rows)}])</script>"
    assert set(found(script, url=PAGE)) == {f"{BASE}/img/t1.jpg", f"{BASE}/img/t2.jpg"}


def test_a_nuxt_data_payload_is_rebuilt_before_it_is_read():
    """Nuxt 3's `__NUXT_DATA__` is devalue's flat array: indices resolved, the named product's gallery read."""
    payload = [
        ["ShallowReactive", 1], {"data": 2}, ["ShallowReactive", 3],
        {"recommended": 4, "product-trail-shoe": 8},
        [5], {"slug": 6, "images": 7}, "road-shoe", ["/img/road.jpg"],
        ["Reactive", 9], {"slug": 10, "images": 11}, "trail-shoe", [12, 13], "/img/t1.jpg", "/img/t2.jpg",
    ]  # fmt: skip
    script = (
        f'<script type="application/json" id="__NUXT_DATA__" data-ssr="true">{json.dumps(payload)}</script>'
    )
    assert set(found(script, url=PAGE)) == {f"{BASE}/img/t1.jpg", f"{BASE}/img/t2.jpg"}
    # The same array in a script Nuxt did not mark is plain JSON: numbers, no product named.
    assert found(script.replace('id="__NUXT_DATA__"', 'id="other"'), url=PAGE) == {}


def test_a_json_script_and_an_id_in_the_route_name_the_product():
    """A numeric id names /item/1005.html's product; a GraphQL connection's nodes are its images."""
    state = {"data": {"item": {"itemId": 1005, "media": {"edges": [{"node": {"url": "/kf/a.jpg"}}]}}}}
    script = f'<script type="application/json" id="app-data">{json.dumps(state)}</script>'
    assert set(found(script, url=f"{BASE}/item/1005.html")) == {f"{BASE}/kf/a.jpg"}


def test_the_id_a_route_ends_with_names_the_product_too():
    """`…/linen-dress-p-81234567.html`: a state that knows the product only by its id still names the page."""
    state = {
        "look": [{"productId": "91230001", "gallery": [{"zoom": "/m/other.jpg"}]}],
        "product": {"productId": 81234567, "gallery": [{"zoom": "/m/dress-0.jpg"}]},
    }
    script = f"<script>window.__APP_STATE__ = {json.dumps(state)};</script>"
    assert set(found(script, url=f"{BASE}/women/linen-dress-p-81234567.html")) == {f"{BASE}/m/dress-0.jpg"}


@pytest.mark.parametrize(
    ("key", "names"),
    [
        ("linen-dress-p-81234567", ("linen-dress-p-81234567", "81234567")),
        ("Trail_Shoe_B0ABC12", ("Trail_Shoe_B0ABC12", "B0ABC12")),
        ("iphone-15", ("iphone-15",)),  # too short to be an id: a model number
        ("calendar-2025", ("calendar-2025",)),
        ("mug-blue", ("mug-blue",)),  # no digit
        ("1005", ("1005",)),
        ("", ()),
    ],
)
def test_page_names_are_the_route_key_and_the_id_it_ends_with(key, names):
    assert page_names(key) == names


def test_the_featured_image_is_the_hero_and_comes_first():
    state = {
        "page": {
            "product": {
                "url": "https://shop.example.com/products/trail-shoe",
                "photos": ["/img/side.jpg"],
                "featuredImage": {"originalSrc": "/img/main.jpg"},
            }
        }
    }
    result = state_page(state)
    assert list(result) == [f"{BASE}/img/main.jpg", f"{BASE}/img/side.jpg"]
    assert "hero" in result[f"{BASE}/img/main.jpg"].hints
    assert "hero" not in result[f"{BASE}/img/side.jpg"].hints


def test_salesforce_image_groups_give_their_large_views_only():
    """Commerce Cloud's headless shape: imageGroups by view type; small and swatch views repeat the large."""
    groups = [
        {"viewType": "large", "images": [{"link": "https://cdn.example.com/dw/image/25M_1.jpg?sw=1200"}]},
        {"viewType": "small", "images": [{"link": "https://cdn.example.com/dw/image/25M_1.jpg?sw=200"}]},
        {"viewType": "swatch", "images": [{"link": "https://cdn.example.com/dw/image/25M_sw.jpg"}]},
        {"viewType": "hi-res", "images": [{"disBaseLink": "https://cdn.example.com/dw/image/25M_2.jpg"}]},
    ]
    script = f"<script>window.__PRELOADED_STATE__ = {json.dumps({'product': {'id': '25M', 'imageGroups': groups}})}</script>"
    result = set(found(script, url=f"{BASE}/global/en-GB/product/25M"))
    # The ?sw= request also gives its full-size URL (cdn.py), as any Demandware image URL does.
    assert result == {
        "https://cdn.example.com/dw/image/25M_1.jpg?sw=1200",
        "https://cdn.example.com/dw/image/25M_1.jpg",
        "https://cdn.example.com/dw/image/25M_2.jpg",
    }


def test_a_gallery_on_the_products_master_variant_is_the_products():
    """commercetools and Vue Storefront keep the images on masterVariant, beside the product's slug."""
    state = {
        "product": {
            "slug": "trail-shoe",
            "masterVariant": {"sku": "TS-1", "images": [{"url": "/img/ts.jpg"}]},
        }
    }
    assert set(state_page(state)) == {f"{BASE}/img/ts.jpg"}


def test_a_gallery_in_a_sibling_module_of_the_named_product_is_its():
    """Listing pages split the product into modules: the one naming it, and an image module beside it."""
    state = {
        "data": {
            "productInfo": {"productId": 1005, "subject": "Earbuds"},
            "imageModule": {"imagePathList": ["https://cdn.example.com/kf/e1.jpg"]},
            "recommendModule": {"productId": 2006, "images": ["https://cdn.example.com/kf/other.jpg"]},
        }
    }
    script = f"<script>window.runParams = {json.dumps(state)};</script>"
    assert set(found(script, url=f"{BASE}/item/1005.html")) == {"https://cdn.example.com/kf/e1.jpg"}


def test_records_in_a_list_are_not_modules_of_each_other():
    """Beside a product in a list, the next record's gallery is another product's, even without an id."""
    state = {"items": [{"productId": 1005}, {"images": ["https://cdn.example.com/kf/other.jpg"]}]}
    script = f"<script>window.runParams = {json.dumps(state)};</script>"
    assert found(script, url=f"{BASE}/item/1005.html") == {}


def test_many_objects_naming_the_page_look_through_their_modules_once(monkeypatch):
    """A hostile state: thousands of siblings naming the page, no gallery anywhere. Linear work, no result."""
    calls = 0
    has_gallery = extract_state._has_gallery

    def counted(node: dict) -> bool:
        nonlocal calls
        calls += 1
        return has_gallery(node)

    monkeypatch.setattr(extract_state, "_has_gallery", counted)
    siblings = 5_000
    state = {"logo": "/logo.jpg", "data": {f"m{index}": {"productId": 1005} for index in range(siblings)}}
    assert list(state_images("application/json", json.dumps(state), "1005")) == []
    assert calls <= 3 * siblings  # each sibling once as a candidate, once as a module (not 5,000 times)


def test_videos_and_models_in_the_media_list_are_left_out():
    media = [
        {"mediaType": "IMAGE", "url": "/img/a.jpg"},
        {"mediaType": "VIDEO", "url": "/video/a.mp4"},
        {"__typename": "Model3d", "url": "/models/a.glb"},
        "/video/b.mp4",
    ]
    assert set(state_page({"slug": "trail-shoe", "media": media})) == {f"{BASE}/img/a.jpg"}


@pytest.mark.parametrize(
    "script",
    [
        # No object names the page: nothing, whatever images the state holds.
        'window.__INITIAL_STATE__ = {"product": {"slug": "road-shoe", "images": ["/img/road.jpg"]}};',
        # A literal that is not one: a function's source.
        'window.__INITIAL_STATE__ = function () { return {slug: "trail-shoe", images: ["/img/t.jpg"]}; };',
        # Nuxt 2's call whose arguments cannot be read: the parameter stays a name, not a slug.
        'window.__NUXT__=(function(a){return {data: [{slug: a, images: ["/img/t.jpg"]}]}}("trail-shoe",));;x',
        # Named, but with no gallery field.
        'window.__INITIAL_STATE__ = {"product": {"slug": "trail-shoe", "thumbnail": "/img/t.jpg"}};',
        # Broken JSON, a broken string literal, a string that is not JSON.
        'window.__INITIAL_STATE__ = {"product": {"slug": "trail-shoe", "images": ["/img/t.jpg"]',
        'window.__S__ = JSON.parse("{\\"product\\": {\\"slug\\": \\"trail-shoe\\", \\"images\\": [\\"/img/t.jpg\\"]}}',
        "window.__S__ = JSON.parse('trail-shoe /img/t.jpg');",
    ],
)
def test_states_that_do_not_name_the_page_or_are_not_json_give_nothing(script):
    assert found(f"<script>{script}</script>", url=PAGE) == {}


def test_a_shop_platforms_own_shape_is_read_once_by_its_reader():
    """A Shopify product blob is the platform reader's; the state reader does not add it a second time."""
    product = {
        "handle": "trail-shoe",
        "variants": [{"id": 1}],
        "images": ["/img/t.jpg"],
        "featured_image": "/img/t.jpg",
    }
    script = f'<script type="application/json" data-product-json>{json.dumps(product)}</script>'
    result = found(script, url=PAGE)
    assert set(result) == {f"{BASE}/img/t.jpg"} and "hero" in result[f"{BASE}/img/t.jpg"].hints


def test_a_hostile_state_is_walked_within_its_bounds():
    """Deep nesting and a very wide state cost a bounded walk and give nothing, without an error."""
    deep = '{"a":' * 5000 + '"x"' + "}" * 5000
    assert list(state_images("", f'var s = {deep}; "trail-shoe" "/img/t.jpg"', "trail-shoe")) == []
    wide = {"items": [{"slug": f"other-{index}", "images": []} for index in range(MAX_NODES)]}
    wide["items"].append({"slug": "trail-shoe", "images": ["/img/t.jpg"]})
    assert list(state_images("application/json", json.dumps(wide), "trail-shoe")) == []  # past MAX_NODES


def test_a_gallery_is_capped():
    images = [f"/img/{index}.jpg" for index in range(500)]
    assert len(list(product_gallery({"images": images, "gallery": images}))) == 100


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("https://shop.example.com/products/trail-shoe", "trail-shoe"),
        ("/collections/all/products/Trail-Shoe/", "Trail-Shoe"),
        ("https://shop.example.com/item/1005.html?spm=1", "1005"),
        ("https://shop.example.com/Trail/dp/B0ABC/ref=sr_1", "B0ABC"),
        ("trail-shoe", "trail-shoe"),
        ("https://shop.example.com/", ""),
        ("http://[::1/x", ""),
    ],
)
def test_route_key_is_the_last_segment_of_the_route(url, key):
    assert route_key(url) == key
