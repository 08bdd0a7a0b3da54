"""Generated shop sites with ground truth, for the scraper's tests and benchmarks.

- `site`: the generic shop (`build_site`), its photo generators and the loopback server (`serve_site`),
  exported here;
- `platforms`: pages shaped like the big shop platforms (`build_platform_site`), one module per family,
  sharing the helpers of `platforms/kit.py`;
- `quality`: scores `run_pipeline` against a site's truth (it loads the whole pipeline).

Import the last two by their own names: `platforms` uses `site`, so exporting it here would make the
package and its subpackage import each other.
"""

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
    "PageTruth",
    "Photo",
    "ServedSite",
    "SiteManifest",
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
