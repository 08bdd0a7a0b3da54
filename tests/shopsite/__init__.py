"""Generated shop sites with ground truth, for the scraper's tests and benchmarks.

- `site`: the generic shop (`build_site`), its photo generators and the loopback server (`serve_site`);
- `platforms`: pages shaped like the big shop platforms (`build_platform_site`), one module per family
  in `pages/`, sharing the helpers of `pages/kit.py`;
- `quality`: scores `run_pipeline` against a site's truth. Import it as `tests.shopsite.quality`:
  it loads the whole pipeline, which the photo generators do not need.
"""

from tests.shopsite.platforms import PAGE_BUILDERS, build_platform_site
from tests.shopsite.site import (
    PageTruth,
    Photo,
    ServedSite,
    SiteManifest,
    build_site,
    encode,
    flat_image,
    jpeg,
    lifestyle_photo,
    logo_image,
    product_photo,
    resized,
    serve_site,
    served_file,
    site_path,
)

__all__ = [
    "PAGE_BUILDERS",
    "PageTruth",
    "Photo",
    "ServedSite",
    "SiteManifest",
    "build_platform_site",
    "build_site",
    "encode",
    "flat_image",
    "jpeg",
    "lifestyle_photo",
    "logo_image",
    "product_photo",
    "resized",
    "serve_site",
    "served_file",
    "site_path",
]
