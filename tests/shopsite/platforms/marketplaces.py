"""Pages shaped like marketplace listings: Etsy, eBay, AliExpress."""

from __future__ import annotations

from PIL import Image

from tests.shopsite.platforms.kit import add_junk_file, add_photo, chrome_page, related_cards
from tests.shopsite.site import PageTruth, SiteWriter, jsonld_script


def etsy(writer: SiteWriter, seed: int) -> PageTruth:
    """Etsy: an il_794xN carousel (lazy after the first) with data-src-zoom-image, il_75x75 thumbs,
    og:image il_570xN, JSON-LD ImageObjects with contentURL, the shop's icon, more from the shop."""
    views = []
    for index, role in enumerate(("hero", "product", "lifestyle")):
        listing, name = f"/{seed}/r/il/ab{index}cd/{seed}{index}", f"{seed}{index}_x{index}y"
        sizes = {"75x75": 75, "570xN": 570, "794xN": 794, "fullxfull": None}
        files = {f"{listing}/il_{size}.{name}.jpg": side for size, side in sizes.items()}
        views.append(add_photo(writer, name, role, seed * 10 + index, files))
    slides = "".join(
        f'<li class="carousel-pane" data-carousel-pane data-index="{i}"><img data-src-zoom-image="{v[3]}"'
        f' {"src" if i == 0 else "data-src"}="{v[2]}" alt="Handmade ceramic mug, speckled glaze"'
        f' class="wt-max-width-full wt-horizontal-center wt-vertical-center carousel-image wt-rounded"></li>'
        for i, v in enumerate(views)
    )
    thumbs = "".join(
        f'<li class="wt-list-inline__item"><img src="{v[0]}" class="carousel-pagination-item-v2" alt=""></li>'
        for v in views
    )
    icon = add_junk_file(
        writer,
        f"/iusa/{seed}/iusa_75x75.{seed}.jpg",
        "avatar",
        Image.new("RGB", (75, 75), (90, 60, 40)),
        "JPEG",
    )
    others = [f"/{seed}/c/9{i}/il/ef{i}/77{i}/il_340x270.77{i}_z.jpg" for i in range(3)]
    related = related_cards(
        writer,
        others,
        '<div class="wt-grid" data-appears-component-name="more_from_shop">'
        '<h2 class="wt-text-title-01">More from this shop</h2>',
        tuple(other.replace("il_340x270.", "il_fullxfull.") for other in others),
    )
    images = [{"@type": "ImageObject", "contentURL": v[3], "thumbnail": v[1]} for v in views]
    head = f'<meta property="og:image" content="{views[0][1]}">' + jsonld_script(
        {"@context": "https://schema.org", "@type": "Product", "name": "Ceramic mug", "image": images}
    )
    body = (
        f'<div class="listing-page-image-carousel-component"><ul class="carousel-pane-list">{slides}</ul>'
        f'<ul class="carousel-pagination">{thumbs}</ul></div>'
        f'<div class="shop-info"><img class="shop-icon-external" src="{icon}" alt="PotteryShop"></div>{related}'
    )
    return chrome_page(writer, f"/etsy/listing/{seed}/ceramic-mug.html", "Ceramic mug", head, body)


def ebay(writer: SiteWriter, seed: int) -> PageTruth:
    """eBay: ux-image-carousel with s-l500 src and data-zoom-src s-l1600 (later slides lazy), an s-l64
    filmstrip, og:image s-l500, sponsored similar items."""
    views = []
    for index in range(3):
        code = f"Ab{seed}C{index}OSwXyZ"
        files = {f"/images/g/{code}/s-l{side}.jpg": side for side in (64, 500)} | {
            f"/images/g/{code}/s-l1600.jpg": None
        }
        views.append(add_photo(writer, code, "hero" if index == 0 else "product", seed * 10 + index, files))
    slides = "".join(
        f'<div class="ux-image-carousel-item image-treatment{" active" if i == 0 else ""} image" data-idx="{i}">'
        f'<img alt="Vintage camera" {"src" if i == 0 else "data-src"}="{v[1]}" data-zoom-src="{v[2]}"'
        f' loading="{"eager" if i == 0 else "lazy"}"></div>'
        for i, v in enumerate(views)
    )
    strip = "".join(
        f'<div class="ux-image-filmstrip-carousel-item image-treatment image"><img alt="Picture {i} of 3" src="{v[0]}"></div>'
        for i, v in enumerate(views, start=1)
    )
    others = [f"/images/g/Sp{seed}x{i}Q/s-l225.jpg" for i in range(3)]
    related = related_cards(
        writer,
        others,
        '<div class="x-sims-items" aria-label="Similar sponsored items">',
        tuple(other.replace("s-l225", "s-l1600") for other in others),
    )
    head = f'<meta property="og:image" content="{views[0][1]}">'
    body = (
        f'<div class="ux-image-carousel-container"><div class="ux-image-carousel">{slides}</div>'
        f'<div class="ux-image-filmstrip-carousel">{strip}</div></div>{related}'
    )
    return chrome_page(writer, f"/ebay/itm/{seed}0042.html", "Vintage camera", head, body)


def aliexpress(writer: SiteWriter, seed: int) -> PageTruth:
    """AliExpress: /kf/<name>.jpg_960x960q75.jpg_.webp main image, _80x80 thumbnail slider, og:image the
    plain file, "More to love" cards."""
    views = []
    for index in range(3):
        plain = f"/kf/S{seed}e{index}f8a.jpg"
        files = {f"{plain}_80x80.jpg_.webp": 80, f"{plain}_960x960q75.jpg_.webp": None, plain: None}
        views.append(add_photo(writer, plain, "hero" if index == 0 else "product", seed * 10 + index, files))
    main = f'<div class="magnifier--wrap"><img class="magnifier--image" src="{views[0][1]}" alt="Wireless earbuds"></div>'
    thumbs = "".join(
        f'<div class="slider--item{" slider--active" if i == 0 else ""}"><div class="slider--img">'
        f'<img src="{v[0]}" alt="Wireless earbuds"></div></div>'
        for i, v in enumerate(views)
    )
    others = [f"/kf/Sml{seed}{i}z.jpg" for i in range(3)]
    related = related_cards(
        writer,
        [f"{other}_220x220.jpg_.webp" for other in others],
        '<div class="more-to-love--wrap" data-spm="moretolove">',
        tuple(others),
    )
    head = f'<meta property="og:image" content="{views[0][2]}">'
    body = f'<div class="pdp-info-left"><div class="image-view--wrap">{main}<div class="slider--wrap">{thumbs}</div></div></div>{related}'
    return chrome_page(writer, f"/aliexpress/item/{seed}00519.html", "Wireless earbuds", head, body)
