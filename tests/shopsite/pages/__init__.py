"""Platform-shaped product pages, one module per family of platforms; `tests.shopsite.platforms` lists them."""
