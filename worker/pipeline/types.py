"""The values that flow between pipeline stages: plain dataclasses, importable without Pillow or lxml."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from backend.models import ImageType
from worker.pipeline.spill import SpilledBytes

if TYPE_CHECKING:
    from PIL import Image


class Hint(StrEnum):
    """A signal found around a candidate image. The value is the name a kept image's metadata lists
    (`hints`) and docs/scoring.md explains; some values are also a source's or a skip reason's name,
    which are other vocabularies and stay plain strings."""

    # The page names the picture as its product's (meta tags, structured data, shop platforms).
    OG = "og"
    JSONLD_PRODUCT = "jsonld_product"
    MICRODATA = "microdata"
    PLATFORM = "platform"
    # Markup that shows the picture as the product's.
    GALLERY = "gallery"
    HERO = "hero"
    ZOOM = "zoom"
    PRIORITY = "priority"
    TITLED = "titled"
    LINKED = "linked"
    LIFESTYLE = "lifestyle"
    # Where it was found or how its URL was made.
    CSS = "css"
    UPSIZED = "upsized"
    META_ONLY = "meta_only"
    UNSHOWN = "unshown"
    DATA_URI = "data_uri"
    SVG = "svg"
    # Words and places that say it is something else than the product's photo.
    LOGO = "logo"
    ICON = "icon"
    SPRITE = "sprite"
    BADGE = "badge"
    AVATAR = "avatar"
    PLACEHOLDER = "placeholder"
    PIXEL = "pixel"
    PROMO = "promo"
    SOCIAL = "social"
    REVIEW = "review"
    POPUP = "popup"
    CHART = "chart"
    RELATED = "related"
    OTHER_PRODUCT = "other_product"
    CHROME = "chrome"
    IMAGE_MAP = "image_map"


@dataclass(frozen=True)
class Page:
    """A fetched HTML page; `url` is the final URL after redirects."""

    url: str
    html: bytes
    content_type: str
    encoding: str | None = None


@dataclass(frozen=True)
class Candidate:
    """One image URL the page references, with the signals found around it."""

    url: str
    source: str  # img, srcset, picture, lazy, noscript, og, twitter, jsonld, microdata, css, link, …
    position: int  # order of discovery in the document
    alt: str | None = None
    width_hint: int | None = None  # from width=/srcset descriptors, if any
    height_hint: int | None = None
    hints: frozenset[Hint] = frozenset()  # e.g. {Hint.OG, Hint.JSONLD_PRODUCT, Hint.RELATED}
    # Smaller copies of the same picture, tried in order only if `url` cannot be had: an <img>'s
    # src when it is one of its own srcset's smaller entries.
    fallbacks: tuple[str, ...] = ()
    # For a URL built by asking an image CDN for its largest copy (hint `upsized`): the URL the page
    # wrote, which is a candidate too.
    upsized_from: str | None = None


@dataclass(frozen=True)
class ImageInfo:
    """What Pillow measured from the downloaded bytes (format sniffed, never trusted from headers)."""

    format: str  # JPEG, PNG, WEBP, GIF, …
    mime: str
    width: int
    height: int
    file_size: int
    content_hash: str  # sha256 hex of the original bytes
    phash: str | None = None
    features: dict[str, Any] = field(default_factory=dict)  # sharpness, uniform background, …
    # The upright thumbnail-sized copy measure() decoded anyway (store.py encodes it, so the
    # kept image is not decoded a second time); None when built by hand or not decodable.
    preview: Image.Image | None = field(default=None, compare=False, repr=False)
    # The gray copy of at most FEATURE_SIDE (on white) the features and the phash came from;
    # the crop check cuts its regions from it.
    gray: Image.Image | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Skip:
    """A candidate not kept; `failed` marks a broken image as opposed to one skipped on purpose."""

    url: str
    reason: str
    detail: str = ""
    failed: bool = False


@dataclass(frozen=True)
class RankedImage:
    """A kept image: the original bytes (in memory, or spilled to the job's folder), measurements, score, class."""

    candidate: Candidate
    body: bytes | SpilledBytes
    info: ImageInfo
    quality_score: float
    image_type: ImageType
    is_hero: bool
    is_product: bool
    is_lifestyle: bool

    @property
    def data(self) -> bytes:
        """The original bytes (read back from disk when spilled)."""
        return self.body if isinstance(self.body, bytes) else self.body.read()

    @property
    def extension(self) -> str:
        return {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}.get(self.info.format, "bin")


@dataclass
class Progress:
    """Counters the pipeline moves while it runs; the job row mirrors them."""

    images_found: int = 0
    images_processed: int = 0
    images_skipped: int = 0
    images_failed: int = 0


@dataclass
class PipelineResult:
    page_url: str
    kept: list[RankedImage]  # best first, at most max_images
    skipped: list[Skip]
    progress: Progress


ProgressCallback = Callable[[Progress], None]
