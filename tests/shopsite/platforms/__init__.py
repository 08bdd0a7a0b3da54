"""Product pages shaped like the big shop platforms, with ground truth: `build_platform_site(root)`.

Each page imitates the markup one platform's themes really write (Shopify, WooCommerce,
Magento 2, BigCommerce, PrestaShop, Amazon, a Scene7 or Demandware image CDN, plain
boutiques, headless Next.js and Hydrogen storefronts (the latter naming its main photo only
by `fetchpriority`), Wix, Squarespace, VTEX, Etsy, eBay and AliExpress listings, themes
whose product cards say nothing but their links, around the picture or beside it, or their
microdata, a long-form sales page whose product shots link to its order form, a
client-rendered storefront whose gallery is only in its app state, Shopware 6, OpenCart 3,
Webflow, and Nuxt 3 and React storefronts whose state is a devalue payload, Nuxt 2's
`__NUXT__` function call or a `JSON.parse("…")` string, a Next.js App Router shop whose
product is in its flight rows, a fashion shop whose state names the product only by the id
its URL ends with) around deterministic photos, with the site chrome (logo, icons, badges,
pixel, related products) of `tests/shopsite/site.py`. The truth of a page lists its real photos
(role `hero` is the main product photo, the one a marketer wants first) with every URL that
shows each one — CDN size variants and the full-size URL the scraper may ask for — and its
junk. Serve the root with `tests.shopsite.serve_site`; CDN query strings select files
through `query_file`.
"""

from __future__ import annotations

import random
from pathlib import Path

from tests.shopsite.platforms.apps import (
    fashion_spa,
    next_app_router,
    nuxt2_storefront,
    nuxt_storefront,
    react_state,
)
from tests.shopsite.platforms.cards import microdata_variant, sales_page, shopify_grid, shopify_minimal
from tests.shopsite.platforms.carts import (
    bigcommerce,
    magento,
    prestashop,
    shopify_dawn,
    shopify_debut,
    shopify_look,
    woocommerce,
    woocommerce_plain,
)
from tests.shopsite.platforms.hosted import hydrogen, nextjs, squarespace, vtex, vue_storefront, wix
from tests.shopsite.platforms.kit import PageBuilder
from tests.shopsite.platforms.marketplaces import aliexpress, ebay, etsy
from tests.shopsite.platforms.retail import amazon, boutique, demandware, scene7
from tests.shopsite.platforms.selfhosted import opencart, shopware6, webflow
from tests.shopsite.site import SiteManifest, SiteWriter, write_shared_static

PAGE_BUILDERS: dict[str, PageBuilder] = {
    "shopify_dawn": shopify_dawn,
    "shopify_debut": shopify_debut,
    "woocommerce": woocommerce,
    "magento": magento,
    "bigcommerce": bigcommerce,
    "amazon": amazon,
    "scene7": scene7,
    "demandware": demandware,
    "boutique": boutique,
    "shopify_look": shopify_look,
    "woocommerce_plain": woocommerce_plain,
    "prestashop": prestashop,
    "nextjs": nextjs,
    "hydrogen": hydrogen,
    "wix": wix,
    "squarespace": squarespace,
    "vtex": vtex,
    "etsy": etsy,
    "ebay": ebay,
    "aliexpress": aliexpress,
    "shopify_minimal": shopify_minimal,
    "shopify_grid": shopify_grid,
    "microdata_variant": microdata_variant,
    "sales_page": sales_page,
    "vue_storefront": vue_storefront,
    "shopware6": shopware6,
    "opencart": opencart,
    "webflow": webflow,
    "nuxt_storefront": nuxt_storefront,
    "react_state": react_state,
    "fashion_spa": fashion_spa,
    "nuxt2_storefront": nuxt2_storefront,
    "next_app_router": next_app_router,
}


def build_platform_site(root: Path, *, copies: int = 2, seed: int = 1) -> SiteManifest:
    """Write `copies` pages of every platform shape under `root`; pages are named `<shape>-<n>`."""
    writer = SiteWriter(root)
    write_shared_static(writer)
    rng = random.Random(seed)
    pages = {}
    for copy in range(copies):
        for shape, builder in PAGE_BUILDERS.items():
            pages[f"{shape}-{copy}"] = builder(writer, rng.randrange(10, 99) * 10 + copy)
    return SiteManifest(pages=pages, redirects={})
