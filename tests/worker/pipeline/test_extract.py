"""Candidate extraction: every image source, URL resolution, de-duplication and hints, from small HTML strings."""

from __future__ import annotations

import json
import re

import pytest

from worker.pipeline.extract.candidates import (
    MAX_RELATED_HEADINGS,
    extract_candidates,
    int_attr,
    is_placeholder_src,
    keyword_hints,
    load_lenient_json,
    product_image_urls,
)
from worker.pipeline.extract.hints import HINT_KEYWORDS, RELATED_TABLE, URL_TABLE, tokens_of
from worker.pipeline.types import Candidate, Page

PAGE_URL = "https://shop.example.com/p/mug.html"
BASE = "https://shop.example.com"


def found(body: str, *, head: str = "", url: str = PAGE_URL, limit: int = 300) -> dict[str, Candidate]:
    html = f"<!DOCTYPE html><html><head>{head}</head><body>{body}</body></html>"
    page = Page(url=url, html=html.encode(), content_type="text/html", encoding="utf-8")
    return {candidate.url: candidate for candidate in extract_candidates(page, limit=limit)}


def jsonld(data: object) -> str:
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


def test_img_src_with_alt_and_declared_size():
    """A plain <img> gives its URL, alt text and width/height attributes."""
    candidate = found('<img src="/a.jpg" alt="Blue mug" width="800" height="600px">')[f"{BASE}/a.jpg"]
    assert (candidate.source, candidate.alt, candidate.width_hint, candidate.height_hint) == (
        "img",
        "Blue mug",
        800,
        600,
    )


def test_srcset_contributes_its_largest_entry_with_its_src_as_the_fallback():
    """Only the widest srcset entry is a candidate; src, one of its smaller entries, is its fallback."""
    result = found('<img src="/s.jpg" srcset="/s.jpg 300w, /l.jpg 1200w, /m.jpg 800w">')
    assert set(result) == {f"{BASE}/l.jpg"}
    assert result[f"{BASE}/l.jpg"].width_hint == 1200
    assert result[f"{BASE}/l.jpg"].source == "srcset"
    assert result[f"{BASE}/l.jpg"].fallbacks == (f"{BASE}/s.jpg",)


def test_a_src_outside_its_srcset_stays_a_candidate_of_its_own():
    """A src that is not one of the srcset's entries may be another picture: both are candidates."""
    result = found('<img src="/other.jpg" srcset="/s.jpg 300w, /l.jpg 1200w">')
    assert set(result) == {f"{BASE}/other.jpg", f"{BASE}/l.jpg"}
    assert result[f"{BASE}/l.jpg"].fallbacks == ()


def test_a_src_found_elsewhere_too_stays_a_candidate():
    """The src is only a fallback here; if the page names it elsewhere, that find still counts."""
    result = found(
        '<meta property="og:image" content="/s.jpg"><img src="/s.jpg" srcset="/s.jpg 1x, /l.jpg 2x">'
    )
    assert set(result) == {f"{BASE}/s.jpg", f"{BASE}/l.jpg"}
    assert result[f"{BASE}/l.jpg"].fallbacks == (f"{BASE}/s.jpg",)


def test_picture_sources_contribute_their_largest_decodable_entries():
    """<picture><source srcset> of a decodable type (or untyped) count; AVIF/JXL sources are passed over."""
    result = found(
        '<picture><source type="image/avif" srcset="/a.avif 1x, /a2.avif 2x">'
        '<source type="image/jxl" srcset="/a.jxl">'
        '<source type="image/webp" srcset="/a.webp, /a2.webp 2x"><img src="/a.jpg"></picture>'
    )
    assert set(result) == {f"{BASE}/a2.webp"}
    assert result[f"{BASE}/a2.webp"].source == "picture"


def test_picture_img_is_the_fallback_of_what_its_source_shows():
    """The <img> of a <picture> is the same photo in another format: only a fallback, and it lends its alt."""
    result = found(
        '<picture><source type="image/webp" srcset="/a-800.webp 800w, /a-1600.webp 1600w">'
        '<source type="image/jpeg" srcset="/a-1600.jpg 1600w">'
        '<img src="/a-800.jpg" srcset="/a-1200.jpg 1200w" alt="Blue mug"></picture>'
    )
    assert list(result) == [f"{BASE}/a-1600.webp"]
    candidate = result[f"{BASE}/a-1600.webp"]
    assert (candidate.source, candidate.alt, candidate.width_hint) == ("picture", "Blue mug", 1600)
    assert candidate.fallbacks == (f"{BASE}/a-1600.jpg", f"{BASE}/a-1200.jpg", f"{BASE}/a-800.jpg")


def test_a_lazy_picture_img_is_a_fallback_too():
    """lazysizes in a <picture>: the img's data-src and data-srcset are what its src would be, a fallback;
    another data-* image (a full-size pin) is still a candidate of its own."""
    result = found(
        '<picture><source type="image/webp" data-srcset="/a-800.webp 800w, /a-1600.webp 1600w">'
        '<img class="lazyload" src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" data-src="/a-800.jpg"'
        ' data-srcset="/a-800.jpg 800w, /a-1600.jpg 1600w" data-pin-media="/a-full.jpg" alt="Mug"></picture>'
    )
    assert set(result) == {f"{BASE}/a-1600.webp", f"{BASE}/a-full.jpg"}
    assert result[f"{BASE}/a-1600.webp"].fallbacks == (f"{BASE}/a-1600.jpg", f"{BASE}/a-800.jpg")


def test_fetchpriority_high_gives_the_priority_hint_on_an_img_a_picture_or_a_preload():
    head = '<link rel="preload" as="image" href="/lcp.jpg" imagesrcset="/lcp-1600.jpg 1600w" fetchpriority="high">'
    body = (
        '<img src="/a.jpg" fetchpriority="high"><img src="/b.jpg" fetchpriority="low">'
        '<picture><source type="image/webp" srcset="/c.webp"><img src="/c.jpg" fetchpriority="High"></picture>'
        '<link rel="preload" as="image" href="/late.jpg">'
    )
    result = found(body, head=head)
    assert {url for url, candidate in result.items() if "priority" in candidate.hints} == {
        f"{BASE}/{name}" for name in ("lcp.jpg", "lcp-1600.jpg", "a.jpg", "c.webp")
    }


def test_picture_sources_with_media_queries_are_pictures_of_their_own():
    """Art direction (a <source media=…>: another crop for another screen) keeps every crop a candidate."""
    result = found(
        '<picture><source media="(max-width: 600px)" srcset="/mobile.jpg">'
        '<img src="/desktop.jpg" alt="Mug"></picture>'
    )
    assert set(result) == {f"{BASE}/mobile.jpg", f"{BASE}/desktop.jpg"}
    assert result[f"{BASE}/desktop.jpg"].fallbacks == ()


def test_picture_with_only_undecodable_sources_keeps_its_img():
    """When no <source> is of a type we decode, the <img> is the picture."""
    result = found('<picture><source type="image/avif" srcset="/a.avif"><img src="/a.jpg"></picture>')
    assert list(result) == [f"{BASE}/a.jpg"]
    assert result[f"{BASE}/a.jpg"].source == "picture"


@pytest.mark.parametrize("attribute", ["data-src", "data-lazy-src", "data-original"])
def test_lazy_attributes_replace_their_placeholder_src(attribute):
    """A lazy-load attribute is the real image; the placeholder in src is not recorded."""
    result = found(f'<img src="/static/blank.gif" {attribute}="/real.jpg">')
    assert list(result) == [f"{BASE}/real.jpg"]
    assert result[f"{BASE}/real.jpg"].source == "lazy"


def test_lazy_srcset_contributes_its_largest_entry():
    """data-srcset is parsed like srcset; a data: URI placeholder src is ignored."""
    result = found('<img src="data:image/gif;base64,R0lG" data-srcset="/a-400.jpg 400w, /a-900.jpg 900w">')
    assert list(result) == [f"{BASE}/a-900.jpg"]


def test_lazy_img_keeps_a_real_src():
    """When src is a real (small) image rather than a placeholder, it stays a candidate too."""
    assert set(found('<img src="/thumb.jpg" data-src="/full.jpg">')) == {
        f"{BASE}/full.jpg",
        f"{BASE}/thumb.jpg",
    }


@pytest.mark.parametrize("attribute", ["data-zoom-image", "data-large_image"])
def test_zoom_attributes_are_candidates_marked_zoom(attribute):
    """Full-size attributes of gallery images are candidates with the zoom hint."""
    result = found(f'<img src="/m.jpg" {attribute}="/xl.jpg">')
    assert "zoom" in result[f"{BASE}/xl.jpg"].hints


def test_links_to_image_files_are_candidates():
    """<a href="…jpg"> around a thumbnail points at the full-size image; other links are ignored."""
    result = found('<a href="/big.JPG"><img src="/small.jpg"></a><a href="/about.html">About</a>')
    assert set(result) == {f"{BASE}/big.JPG", f"{BASE}/small.jpg"}
    assert result[f"{BASE}/big.JPG"].source == "anchor"
    assert "linked" in result[f"{BASE}/big.JPG"].hints


def test_itemprop_image_on_img_is_microdata():
    """An <img itemprop=image> carries the microdata product signal."""
    assert "microdata" in found('<img itemprop="image" src="/p.jpg">')[f"{BASE}/p.jpg"].hints


@pytest.mark.parametrize(
    ("meta", "source"),
    [
        ('<meta property="og:image" content="/og.jpg">', "og"),
        ('<meta property="og:image:secure_url" content="/og.jpg">', "og"),
        ('<meta property="og:image:url" content="/og.jpg">', "og"),
        ('<meta name="twitter:image" content="/og.jpg">', "twitter"),
        ('<meta name="twitter:image:src" content="/og.jpg">', "twitter"),
    ],
)
def test_social_meta_images_carry_the_og_hint(meta, source):
    """Open Graph and Twitter card images are candidates with the og hint."""
    candidate = found("", head=meta)[f"{BASE}/og.jpg"]
    assert (candidate.source, "og" in candidate.hints) == (source, True)


def test_link_image_src_and_itemprop_image():
    """<link rel=image_src> and microdata itemprop=image are candidates."""
    result = found(
        '<div itemscope><meta itemprop="image" content="/md.jpg"></div>',
        head='<link rel="image_src" href="/ls.jpg">',
    )
    assert result[f"{BASE}/ls.jpg"].source == "link"
    assert "microdata" in result[f"{BASE}/md.jpg"].hints


@pytest.mark.parametrize(
    "image",
    [
        "/p.jpg",
        ["/p.jpg", "/q.jpg"],
        {"@type": "ImageObject", "url": "/p.jpg"},
        [{"@type": "ImageObject", "contentUrl": "/p.jpg"}, "/q.jpg"],
        [{"@type": "ImageObject", "contentURL": "/p.jpg", "thumbnail": "/p-small.jpg"}],
    ],
)
def test_jsonld_product_images_in_every_shape(image):
    """Product.image as a string, a list, an ImageObject (contentURL as Etsy spells it too) or a mix is read."""
    result = found("", head=jsonld({"@context": "https://schema.org", "@type": "Product", "image": image}))
    assert f"{BASE}/p.jpg" in result
    assert "jsonld_product" in result[f"{BASE}/p.jpg"].hints


def test_jsonld_product_image_by_reference_to_an_image_object():
    """Yoast SEO's @graph: Product.image is {"@id": …#primaryimage}, the ImageObject a node of its own."""
    primary = "https://shop.example.com/p/hoodie/#primaryimage"
    graph = {
        "@context": "https://schema.org",
        "@graph": [
            {
                "@type": "WebPage",
                "@id": "https://shop.example.com/p/hoodie/",
                "primaryImageOfPage": {"@id": primary},
            },
            {"@type": "ImageObject", "@id": primary, "url": "/up/hoodie.jpg", "contentUrl": "/up/hoodie.jpg"},
            {"@type": "Product", "image": [{"@id": primary}, {"@id": "#missing"}]},
        ],
    }
    result = found("", head=jsonld(graph))
    assert set(result) == {f"{BASE}/up/hoodie.jpg"}
    assert "jsonld_product" in result[f"{BASE}/up/hoodie.jpg"].hints


def test_many_jsonld_references_cost_one_walk_of_the_block():
    """1,000 products × 100 references that resolve to nothing: one index of the block, not a walk per reference
    (which is 10^10 steps: the test would time out)."""
    graph = {
        "@graph": [
            {"@type": "Product", "image": [{"@id": f"#x{i}-{j}"} for j in range(100)]} for i in range(1000)
        ]
    }
    graph["@graph"].append({"@type": "ImageObject", "@id": "#x999-99", "url": "/last.jpg"})
    assert set(found("", head=jsonld(graph))) == {f"{BASE}/last.jpg"}


def test_jsonld_graph_and_typed_lists():
    """Products nested in @graph, with @type given as a list or a full IRI, are found; other types are not."""
    data = {
        "@graph": [
            {"@type": "Organization", "logo": "/logo.png", "image": "/org.jpg"},
            {"@type": ["Product", "Thing"], "image": "/p.jpg"},
            {"@type": "https://schema.org/ProductGroup", "image": ["/g.jpg"]},
        ]
    }
    assert set(found("", head=jsonld(data))) == {f"{BASE}/p.jpg", f"{BASE}/g.jpg"}


def test_jsonld_variants_are_the_product_but_related_products_are_not():
    """hasVariant is this product; isRelatedTo/isSimilarTo/accessory/consumable products are others."""
    group = {
        "@type": "ProductGroup",
        "image": "/group.jpg",
        "hasVariant": [
            {"@type": "Product", "image": "/red.jpg"},
            {"@type": "Product", "image": ["/blue.jpg"]},
        ],
        "isRelatedTo": {"@type": "Product", "image": "/related.jpg"},
        "isSimilarTo": [{"@type": "Product", "image": "/similar.jpg"}],
        "isAccessoryOrSparePartFor": {"@type": "Product", "image": "/accessory.jpg"},
        "isConsumableFor": {"@type": "Product", "image": "/consumable.jpg"},
    }
    assert set(found("", head=jsonld(group))) == {f"{BASE}/{name}.jpg" for name in ("group", "red", "blue")}


def test_jsonld_lists_of_several_products_are_not_the_pages_product():
    """An ItemList of products is a carousel of others; a list of one is the page's own product."""

    def item_list(*names: str) -> dict[str, object]:
        items = [
            {"@type": "ListItem", "item": {"@type": "Product", "image": f"/{name}.jpg"}} for name in names
        ]
        return {"@type": "ItemList", "itemListElement": items}

    head = jsonld({"@graph": [{"@type": "Product", "image": "/mug.jpg"}, item_list("plate", "bowl")]})
    head += jsonld(item_list("cup"))
    assert set(found("", head=head)) == {f"{BASE}/mug.jpg", f"{BASE}/cup.jpg"}


def test_a_jsonld_product_at_another_pages_address_is_not_the_pages_product():
    """A Product whose url or @id is a sibling page (links.SiblingPages) is another product; this page's is kept."""
    graph = {
        "@graph": [
            {
                "@type": "Product",
                "@id": f"{BASE}/p/mug.html#product",
                "url": "/p/mug.html",
                "image": "/mug.jpg",
            },
            {"@type": "Product", "url": f"{BASE}/p/plate.html", "image": "/plate.jpg"},
            {"@type": "Product", "@id": f"{BASE}/p/bowl.html#product", "image": "/bowl.jpg"},
            {
                "@type": "Product",
                "@id": "#cup",
                "url": f"{BASE}/p/mug.html?color=blue",
                "image": "/mug-blue.jpg",
            },
        ]
    }
    assert set(found("", head=jsonld(graph))) == {f"{BASE}/mug.jpg", f"{BASE}/mug-blue.jpg"}


def test_a_jsonld_product_at_the_address_the_page_calls_canonical_is_the_pages_product():
    """A variant's page (mug-blue) whose canonical link names the product (mug) that its JSON-LD describes."""
    head = f'<link rel="canonical" href="{BASE}/p/mug.html">' + jsonld(
        {"@type": "Product", "url": f"{BASE}/p/mug.html", "image": "/mug.jpg"}
    )
    assert set(found("", head=head, url=f"{BASE}/p/mug-blue.html")) == {f"{BASE}/mug.jpg"}


def test_broken_jsonld_is_tolerated():
    """A trailing comma is forgiven; garbage is skipped without failing the page."""
    head = (
        '<script type="application/ld+json">{"@type": "Product", "image": ["/p.jpg",],}</script>'
        '<script type="application/ld+json">{"@type": "Product", "image": [</script>'
        '<script type="application/ld+json"><!-- {"@type": "Product", "image": "/c.jpg"} --></script>'
    )
    assert set(found("", head=head)) == {f"{BASE}/p.jpg", f"{BASE}/c.jpg"}


def test_deeply_nested_jsonld_is_bounded():
    """Pathologically deep JSON-LD does not recurse without end."""
    deep: object = {"@type": "Product", "image": "/deep.jpg"}
    for _ in range(200):
        deep = {"child": deep}
    assert product_image_urls(json.dumps(deep)) == []
    assert load_lenient_json("[" * 100_000) is None


@pytest.mark.parametrize(
    "style",
    [
        "background-image: url('/bg.jpg')",
        'background: #fff url("/bg.jpg") no-repeat',
        "background-image:url( /bg.jpg )",
    ],
)
def test_inline_style_background_images(style):
    """url() inside an inline style attribute is a css candidate."""
    candidate = found(f'<div class="story" style="{style.replace(chr(34), "&quot;")}"></div>')[
        f"{BASE}/bg.jpg"
    ]
    assert candidate.source == "css"
    assert "css" in candidate.hints


def test_lazy_background_attribute():
    """data-bg on any element is a css candidate."""
    assert f"{BASE}/bg.jpg" in found('<section data-bg="/bg.jpg"></section>')


def test_data_uris_and_svgs_are_recorded_with_hints():
    """data: URIs and SVG files become candidates marked so the pipeline can skip them."""
    result = found(
        '<img src="data:image/png;base64,iVBORw0KGgo="><img src="/i/logo.svg?v=2"><img src="data:image/svg+xml,%3Csvg%3E">'
    )
    hints = [candidate.hints for candidate in result.values()]
    assert hints[0] >= {"data_uri"}
    assert hints[1] >= {"svg"}
    assert hints[2] >= {"data_uri", "svg"}


def test_base_href_resolves_relative_urls():
    """Relative URLs resolve against <base href>, itself resolved against the page URL."""
    result = found('<img src="a.jpg"><img src="/root.jpg">', head='<base href="/assets/v2/">')
    assert set(result) == {f"{BASE}/assets/v2/a.jpg", f"{BASE}/root.jpg"}


def test_page_url_is_the_base_without_base_href():
    """Without <base>, the page's final URL is the base."""
    assert f"{BASE}/p/img/a.jpg" in found('<img src="img/a.jpg">')


def test_same_url_found_twice_merges_signals():
    """One candidate per URL; it keeps the first position and gains every hint."""
    head = '<meta property="og:image" content="/hero.jpg">'
    result = found(
        '<div class="product-gallery"><img src="/hero.jpg" alt="Front" width="900"></div>', head=head
    )
    assert len(result) == 1
    candidate = result[f"{BASE}/hero.jpg"]
    assert (candidate.position, candidate.source, candidate.alt, candidate.width_hint) == (
        0,
        "og",
        "Front",
        900,
    )
    assert {"og", "gallery"} <= candidate.hints


def test_positions_follow_document_order():
    """Positions count distinct URLs in order of discovery."""
    result = found('<img src="/a.jpg"><img src="/b.jpg"><img src="/a.jpg"><img src="/c.jpg">')
    assert [candidate.position for candidate in result.values()] == [0, 1, 2]


def test_limit_caps_distinct_candidates():
    """No more than `limit` distinct URLs are returned."""
    body = "".join(f'<img src="/{index}.jpg">' for index in range(50))
    assert len(found(body, limit=10)) == 10


@pytest.mark.parametrize(
    ("markup", "hint"),
    [
        ('<a class="site-logo" href="/"><img src="/brand.png"></a>', "logo"),
        ('<img id="headerLogo" src="/brand.png">', "logo"),
        ('<img alt="Acme logo" src="/brand.png">', "logo"),
        ('<img src="/static/logo-2x.png">', "logo"),
        ('<img class="icon-cart" src="/c.png">', "icon"),
        ('<img src="/icons/cart32.png">', "icon"),
        ('<span class="css-sprite" style="background:url(/s.png)"></span>', "sprite"),
        ('<div class="payment-methods"><img src="/v.png"></div>', "badge"),
        ('<div class="review"><img class="avatar" src="/u.jpg"></div>', "avatar"),
        ('<img src="/t/pixel.gif?e=1">', "pixel"),
        ('<img src="/t/x.gif" width="1" height="1">', "pixel"),
        ('<img src="https://www.google-analytics.com/collect?v=1">', "pixel"),
        ('<div class="promo-strip"><img src="/sale.jpg"></div>', "promo"),
        ('<div class="product__media-gallery"><ul><li><img src="/g.jpg"></li></ul></div>', "gallery"),
        ('<section class="hero"><img src="/h.jpg"></section>', "hero"),
        (
            '<section class="related-products"><div><ul><li><a><span><img src="/r.jpg"></span></a></li></ul></div></section>',
            "related",
        ),
        ('<div id="upsell"><img src="/r.jpg"></div>', "related"),
        ('<aside class="customers-also-bought"><img src="/r.jpg"></aside>', "related"),
        ('<div class="product-detail-cross-selling"><div><img src="/r.jpg"></div></div>', "related"),
        ('<header><img src="/banner.jpg"></header>', "chrome"),
        ('<div class="product__media"><img src="/files/tee-size-chart.jpg"></div>', "chart"),
        ('<img src="/files/t3.jpg" alt="Size guide">', "chart"),
        ('<div class="sizeGuideModal"><img src="/files/t4.jpg"></div>', "chart"),
        ('<div class="jdgm-rev__pics"><a><img class="jdgm-rev__pic-img" src="/u/1.jpg"></a></div>', "review"),
        ('<div class="yotpo-review-images"><img src="/u/2.jpg"></div>', "review"),
        (
            '<product-recommendations class="section isolate"><ul><li><img src="/r.jpg"></li></ul></product-recommendations>',
            "related",
        ),
        ('<complementary-products><img src="/r.jpg"></complementary-products>', "related"),
        (
            '<media-gallery class="product__column-sticky"><ul><li><img src="/g.jpg"></li></ul></media-gallery>',
            "gallery",
        ),
    ],
)
def test_context_hints_from_class_id_alt_and_url(markup, hint):
    """Class, id, short alt text, ancestors and the URL give each candidate its hints."""
    (candidate,) = found(markup).values()
    assert hint in candidate.hints


@pytest.mark.parametrize(
    "markup",
    [
        '<img src="/blanket-blue.jpg" alt="Blanket">',
        '<img src="/iconic-sneaker.jpg">',
        '<img src="/catalog/mug.jpg" alt="Mug with our logo printed on the side">',
        '<main><header><img src="/title.jpg"></header></main>',
        '<img src="/files/wall-chart-poster.jpg" alt="Star chart poster, large size">',
        '<div class="product-preview"><img src="/p/preview.jpg"></div>',
    ],
)
def test_no_junk_hints_from_lookalike_words(markup):
    """Words that merely contain a junk word, long alt texts and headers inside main add no junk hints."""
    (candidate,) = found(markup).values()
    assert not candidate.hints & {"logo", "icon", "placeholder", "pixel", "chrome", "chart", "review"}


def _related_urls(body: str) -> set[str]:
    return {url.removeprefix(BASE) for url, candidate in found(body).items() if "related" in candidate.hints}


@pytest.mark.parametrize(
    "body",
    [
        '<section class="py-8"><h2 class="text-2xl">Related Products</h2><ul><li><img src="/r.jpg"></li></ul></section>',
        '<div class="mt-4"><div class="flex"><h3>You may also like</h3><a href="/all">View all</a></div>'
        '<div class="grid"><img src="/r.jpg"></div></div>',
        '<div><h2><span>More from this shop</span></h2><div><div class="card"><h3>Other mug</h3>'
        '<img src="/r.jpg"></div></div></div>',
    ],
)
def test_a_heading_that_names_other_products_marks_its_block_related(body):
    """Utility-class markup: the block's heading says "related", also from a header wrapper, with card titles."""
    assert _related_urls(f'<div class="product"><img src="/p.jpg"></div>{body}') == {"/r.jpg"}


@pytest.mark.parametrize(
    "body",
    [
        '<section><div class="title">You may also like</div><div class="grid"><img src="/r.jpg"></div></section>',
        '<section><p class="section-header__title">Customers also bought</p><ul><li><img src="/r.jpg">'
        "</li></ul></section>",
        '<div class="block"><div class="block-title"><strong role="heading" aria-level="2">Related Products'
        '</strong></div><div class="items"><img src="/r.jpg"></div></div>',
        '<div><span role="heading">Recently viewed</span><div><img src="/r.jpg"></div></div>',
        '<div><div class="sectionHeading">Complete the look</div><div><img src="/r.jpg"></div></div>',
    ],
)
def test_a_section_title_styled_as_a_heading_marks_its_block_related(body):
    """Themes title the recommendations with a class ("title", "heading") or role="heading" instead of an h2."""
    assert _related_urls(f'<div class="product"><img src="/p.jpg"></div>{body}') == {"/r.jpg"}


@pytest.mark.parametrize(
    "body",
    [
        '<section><div class="product-title">Classic stoneware mug</div><img src="/p.jpg"></section>',
        '<nav><a class="menu-title" href="/best">Best sellers</a></nav><section><img src="/p.jpg"></section>',
        '<section><div role="heading" aria-level="1">You may also like this mug</div><img src="/p.jpg"></section>',
        '<section><div class="subtitle-text">Related</div><img src="/p.jpg"></section>',
        '<section><div class="entitled">You may also like</div><img src="/p.jpg"></section>',
    ],
)
def test_styled_titles_that_are_not_section_headings_mark_nothing(body):
    """A product's own title, a menu link, aria-level 1, a single word, and a class merely containing "title"."""
    assert _related_urls(body) == set()


def test_a_page_of_styled_related_titles_is_read_in_linear_work():
    """30 000 title-class "Related products" elements: only the first few walk the page; the image is found."""
    body = (
        '<div class="wrap">'
        + '<div class="title">Related products</div>' * 30_000
        + '</div><img src="/p.jpg">'
    )
    assert set(found(body)) == {f"{BASE}/p.jpg"}


def test_a_related_heading_in_a_flat_layout_marks_only_what_follows_it():
    """Gallery and recommendations share one parent: the siblings after the heading, up to the next h2, are related."""
    body = (
        '<div class="page"><div class="gallery"><img src="/p.jpg"></div><h2>Customers also bought</h2>'
        '<div class="grid"><div><h3>Other</h3><img src="/r1.jpg"></div></div><img src="/r2.jpg">'
        '<h2>Reviews</h2><div><img src="/review.jpg"></div></div>'
    )
    assert _related_urls(body) == {"/r1.jpg", "/r2.jpg"}
    main = '<main><h1>Mug</h1><img src="/p.jpg"><h2>Frequently bought together</h2><img src="/r.jpg"></main>'
    assert _related_urls(main) == {"/r.jpg"}


@pytest.mark.parametrize(
    "body",
    [
        '<section><h2>Recommended use</h2><img src="/p.jpg"></section>',  # one word is not a phrase
        '<section><h1>You may also like this mug</h1><img src="/p.jpg"></section>',  # the product's title
        "<section><h2>Similar products? Ours is the only one made by hand in Portugal since 1962, glazed by one"
        ' family</h2><img src="/p.jpg"></section>',  # prose, not a section title
        '<section><h4>Related</h4><img src="/p.jpg"></section>',
    ],
)
def test_headings_that_do_not_name_other_products_mark_nothing(body):
    """Single words, the h1, and long prose headings leave the block alone."""
    assert _related_urls(body) == set()


def test_only_the_first_related_headings_of_a_page_mark_blocks():
    """Each related heading costs a walk over part of the page, so a page gets MAX_RELATED_HEADINGS of them."""
    sections = "".join(
        f'<section><h2>Related products</h2><img src="/r{i}.jpg"></section>'
        for i in range(MAX_RELATED_HEADINGS + 3)
    )
    related = _related_urls(sections)
    assert related == {f"/r{i}.jpg" for i in range(MAX_RELATED_HEADINGS)}


def test_a_page_repeating_a_related_heading_is_read_in_linear_work():
    """30 000 "Related products" headings in one wrapper: only the first few walk the page; the image is found."""
    body = '<div class="wrap">' + "<div><h2>Related products</h2></div>" * 30_000 + '</div><img src="/p.jpg">'
    assert set(found(body)) == {f"{BASE}/p.jpg"}


def test_keyword_hints_match_whole_tokens_and_camel_case():
    """Phrases match whole tokens across camelCase, kebab-case and snake_case."""
    table = {"related": ("also bought",), "icon": ("icon",)}
    assert keyword_hints("customersAlso-bought icon_24", table) == {"related", "icon"}
    assert keyword_hints("iconic alsobought", table) == set()


def test_entity_encoded_and_padded_urls():
    """Attribute entities are decoded and surrounding whitespace removed."""
    result = found('<img src="  /a.jpg?w=1&amp;h=2\n">')
    assert list(result) == [f"{BASE}/a.jpg?w=1&h=2"]


def test_non_http_references_are_ignored():
    """javascript:, fragments and empty src produce no candidates."""
    assert found('<img src=""><img src="#"><img src="javascript:void(0)"><img>') == {}


@pytest.mark.parametrize("html", [b"", b"   ", b"\x00\x01binary"])
def test_empty_or_garbage_documents_give_no_candidates(html):
    """An empty or non-markup body yields an empty list, not an error."""
    assert extract_candidates(Page(url=PAGE_URL, html=html, content_type="text/html"), limit=10) == []


def test_declared_encoding_is_used():
    """The charset from the Content-Type header decodes the page."""
    html = '<html><body><img src="/caf\u00e9.jpg" alt="Caf\u00e9"></body></html>'.encode("latin-1")
    (candidate,) = extract_candidates(
        Page(url=PAGE_URL, html=html, content_type="text/html", encoding="latin-1"), limit=10
    )
    assert candidate.alt == "Caf\u00e9"
    assert candidate.url == f"{BASE}/caf%C3%A9.jpg"


def test_several_jsonld_blocks_each_contribute():
    """Every JSON-LD block is read: a Product in one, a @graph Product in another, breadcrumbs ignored."""
    head = (
        jsonld({"@type": "BreadcrumbList", "image": "/crumb.jpg"})
        + jsonld({"@type": "Product", "image": "/one.jpg"})
        + jsonld(
            {
                "@graph": [
                    {"@type": "WebPage", "image": "/page.jpg"},
                    {"@type": ["Product"], "image": {"@type": "ImageObject", "contentUrl": "/two.jpg"}},
                ]
            }
        )
    )
    assert set(found("", head=head)) == {f"{BASE}/one.jpg", f"{BASE}/two.jpg"}


def test_og_secure_url_and_twitter_image_src():
    """og:image:secure_url and twitter:image:src are both og-hinted candidates."""
    head = (
        '<meta property="og:image:secure_url" content="https://cdn.example.com/og.jpg">'
        '<meta name="twitter:image:src" content="/tw.jpg">'
    )
    result = found("", head=head)
    assert {"og"} <= result["https://cdn.example.com/og.jpg"].hints
    assert result[f"{BASE}/tw.jpg"].source == "twitter"


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        (None, True),
        (" DATA:image/gif;base64,R0lGOD", True),
        ("/img/blank.gif", True),
        ("/img/LazyLoad.png", True),  # camelCase is split: "lazy"
        ("/img/spacer_1x1.gif?v=2", True),
        ("/img/lazyload.png", False),  # one word, not "lazy"
        ("/img/product-photo.jpg", False),
        ("/blank/../photo.jpg?placeholder=1", True),  # the path is read, dot segments and all
        ("/photo.jpg?placeholder=1", False),  # the query is not
        ("https://cdn.example.net/loading/photo.jpg", True),
        ("http://[bad/loading.gif", False),  # malformed host: not read as a placeholder, no crash
        ("http://[bad/photo.gif", False),
    ],
)
def test_is_placeholder_src(src, expected):
    """Whole path tokens name a lazy loader's stand-in; the substring pre-check does not change that."""
    assert is_placeholder_src(src) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("300", 300),
        ("007", 7),
        (" 300px ", 300),
        ("300.5", 300),
        ("123456", 123456),
        ("1234567", None),
        ("50%", None),
        ("\u0663\u0660\u0660", 300),  # Arabic-Indic digits, as the regex reads them
        ("\u00b2", None),  # a superscript digit is not a number
    ],
)
def test_int_attr(value, expected):
    """Plain digits take a fast path; everything else the regex; both agree."""
    assert int_attr(value) == expected


def test_json_ld_without_an_image_key_is_not_parsed_but_an_escaped_key_still_counts():
    """The pre-check skips blocks that cannot name an image; a \\u-escaped "image" key is still read."""
    assert product_image_urls('{"@type": "Organization", "logo": "/logo.png"}') == []
    escaped = '{"@type": "Product", "\\u0069mage": "/a.jpg"}'
    assert json.loads(escaped)["image"] == "/a.jpg"
    assert product_image_urls(escaped) == ["/a.jpg"]
    assert product_image_urls('{"@type": "Product", "image": "/a.jpg"}') == ["/a.jpg"]


def _keyword_hints_reference(text: str, table: dict[str, tuple[str, ...]]) -> set[str]:
    """keyword_hints as first written: every hint's phrases tried against the token set and the joined tokens."""
    tokens = tokens_of(text)
    words = set(tokens) | {token.rstrip("0123456789") for token in tokens}
    joined = f" {' '.join(tokens)} "
    return {
        hint
        for hint, phrases in table.items()
        if tokens
        and any(phrase in words if " " not in phrase else f" {phrase} " in joined for phrase in phrases)
    }


@pytest.mark.parametrize(
    "table", [HINT_KEYWORDS, URL_TABLE, RELATED_TABLE, {"a": ("x y", "z", ""), "b": ("y",)}]
)
def test_keyword_hints_agrees_with_trying_every_phrase(table):
    """The phrase index (by word, multi-word phrases by first word) finds what trying every phrase finds."""
    phrases = [phrase for values in table.values() for phrase in values]
    texts = ["", "42", "x  y", "y x", "icon32 iconic", "customersAlso-bought", "no-image", "noImage_2"]
    for phrase in phrases:
        texts += [
            phrase,
            f"{phrase}42",
            phrase.title().replace(" ", ""),
            f"x-{phrase.replace(' ', '_')}-y",
            f"pre{phrase}",
        ]
    for text in texts:
        assert keyword_hints(text, table) == _keyword_hints_reference(text, table), text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "  ",
        "product-card__media grid-item",
        "aBcD xAyB abCdE",
        "ABC aBC",
        "icon32_x",
        "\u0130con \u212aelvin \u00e9\u00c9_a1B2",
    ],
)
def test_tokens_of_is_a_camel_split_then_a_split_on_non_word_characters(text):
    """One findall gives the tokens of the split-and-filter definition (non-ASCII letters separate)."""
    split = re.sub(r"([a-z])([A-Z])", r"\1 \2", text).lower()
    assert tokens_of(text) == [token for token in re.split(r"[^a-z0-9]+", split) if token]


@pytest.mark.parametrize(
    ("attribute", "value", "expected"),
    [
        ("data-pin-media", "/full.jpg", "/full.jpg"),
        (
            "data-hires",
            "https://cdn.example.com/mug_2000.JPG?v=3",
            "https://cdn.example.com/mug_2000.JPG?v=3",
        ),
        ("data-retina-srcset", "/mug-1x.webp 1x, /mug-2x.webp 2x", f"{BASE}/mug-2x.webp"),
    ],
)
def test_other_data_attributes_naming_image_files_are_candidates(attribute, value, expected):
    """Themes name their own full-size attributes; any data-* naming an image file is read like a lazy one."""
    result = found(f'<img src="/static/blank.gif" {attribute}="{value}" alt="Mug">')
    expected = expected if expected.startswith("http") else f"{BASE}{expected}"
    assert list(result) == [expected]  # a lazy loader's placeholder src is dropped, as for data-src
    assert (result[expected].source, result[expected].alt) == ("lazy", "Mug")


def test_data_attributes_without_an_image_file_or_holding_json_are_not_candidates():
    result = found(
        '<img src="/mug.jpg" data-widths="[180, 360, 720]" data-sizes="auto" data-caption="A mug"'
        ' data-media=\'{"src": "/other.jpg"}\' data-product-id="12">'
    )
    assert list(result) == [f"{BASE}/mug.jpg"]


def test_known_data_attributes_are_read_once():
    """data-src and data-zoom-image keep their own sources and hints; the generic rule leaves them alone."""
    result = found('<img src="/static/blank.gif" data-src="/mug.jpg" data-zoom-image="/mug-xl.jpg">')
    assert set(result) == {f"{BASE}/mug.jpg", f"{BASE}/mug-xl.jpg"}
    assert result[f"{BASE}/mug-xl.jpg"].source == "zoom"


def test_a_cdn_largest_copy_remembers_the_url_the_page_wrote():
    """The upsized candidate names its source URL (dedupe gives way to it when the copy is no larger)."""
    result = found('<img src="https://cdn.shopify.com/s/files/1/0001/products/mug_400x400.jpg">')
    full = result["https://cdn.shopify.com/s/files/1/0001/products/mug.jpg"]
    assert "upsized" in full.hints
    assert full.upsized_from == "https://cdn.shopify.com/s/files/1/0001/products/mug_400x400.jpg"
    assert result[full.upsized_from].upsized_from is None


def test_an_image_map_is_marked_whatever_its_class_says():
    """<img usemap> (a banner with clickable areas) gets `image_map`; its hero class does not change that."""
    result = found(
        '<div class="home-hero"><img src="/banner.jpg" usemap="#areas" alt="Shop now"></div>'
        '<map name="areas"><area href="/sale" coords="0,0,10,10"></map><img src="/mug.jpg" alt="Mug">'
    )
    assert {"image_map", "hero"} <= result[f"{BASE}/banner.jpg"].hints
    assert "popup" in found('<div class="centerPopup"><img src="/p.jpg"></div>')[f"{BASE}/p.jpg"].hints
    assert "image_map" not in result[f"{BASE}/mug.jpg"].hints


def test_an_img_whose_alt_is_the_products_h1_is_titled():
    """alt (or title) equal to the h1's words, whatever the spacing, case and markup, gives `titled`; other
    alts, and a one-word h1, do not."""
    result = found(
        '<h1 class="empty"></h1><h1><span itemprop="name">\n  Acme Steel Mug, 12 oz </span></h1>'
        '<img src="/mug.jpg" alt="ACME steel mug 12 OZ"><img src="/side.jpg" title="Acme Steel Mug, 12 oz">'
        '<img src="/other.jpg" alt="Acme Glass Mug">'
    )
    assert "titled" in result[f"{BASE}/mug.jpg"].hints
    assert "titled" in result[f"{BASE}/side.jpg"].hints
    assert "titled" not in result[f"{BASE}/other.jpg"].hints
    assert "titled" not in found('<h1>Sale</h1><img src="/a.jpg" alt="Sale">')[f"{BASE}/a.jpg"].hints
