"""Extraction, the pipeline's first stage: every candidate image a page references, with its hints.

Pure lxml and JSON work, no I/O. `candidates.extract_candidates(page)` is the entry point; the
other modules are its parts: `structured` (JSON-LD, shop-platform product JSON), `state` (web-app
state, read by `jsstate` and `devalue`), `hints` (markup words), `links` and `cards` (other
products' cards), `cdn` (an image CDN's largest copy), `srcset` and `urls` (reading references).
Nothing is imported here, so importing one light part (urls, srcset) loads only that part.
"""
