"""The helpers of the platform-shaped pages: photos under several URLs, related thumbnails, junk files, page shell."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from PIL import Image, ImageDraw

from tests.shopsite.site import (
    CHROME_JUNK,
    PageTruth,
    Photo,
    SiteWriter,
    encode,
    jpeg,
    lifestyle_photo,
    page_html,
    product_photo,
    resized,
)

__all__ = [
    "MASTER_SIDE",
    "PageBuilder",
    "add_junk_file",
    "add_junk_photos",
    "add_photo",
    "add_photos",
    "add_state_only_junk",
    "chrome_page",
    "master_picture",
    "related_cards",
    "size_chart",
]


MASTER_SIDE = 1000
PageBuilder = Callable[[SiteWriter, int], PageTruth]


@lru_cache(maxsize=8)
def master_picture(seed: int, role: str) -> Image.Image:
    if role == "lifestyle":
        return lifestyle_photo(seed, (MASTER_SIDE, MASTER_SIDE * 2 // 3))
    return product_photo(seed, (MASTER_SIDE, MASTER_SIDE))


def add_photo(
    writer: SiteWriter,
    name: str,
    role: str,
    seed: int,
    files: dict[str, int | None],
    aliases: tuple[str, ...] = (),
) -> list[str]:
    """One photo written under several URLs ({url: long side, None = full size}); all of them and
    `aliases` (URLs the server answers with one of those files) show this photo in the truth."""
    picture = master_picture(seed, role)
    for url, side in files.items():
        image = picture if side is None else resized(picture, side)
        writer.file(url, jpeg(image, quality=90 if side is None else 80))
    writer.photos.append(Photo(name=name, role=role, urls=(*files, *aliases)))
    return list(files)


def add_photos(
    writer: SiteWriter, paths: list[str], first_seed: int, roles: tuple[str, ...] = ()
) -> list[str]:
    """One photo per path, each served at full size from that path alone (seeds `first_seed`, +1, …): the
    first is the hero and the others product shots, unless `roles` names each one's role."""
    for index, path in enumerate(paths):
        role = roles[index] if roles else ("hero" if index == 0 else "product")
        add_photo(writer, path, role, first_seed + index, {path: None})
    return paths


def add_state_only_junk(writer: SiteWriter, paths: list[str]) -> None:
    """Other products' images that only an app state names: junk, found only if the state reader strays."""
    for path in paths:
        writer.junk[path] = "related_product"


def _card_in_link(link: str, path: str, index: int) -> str:
    """A product card whose picture is inside its link."""
    return (
        f'<div class="card"><a href="{link}"><img src="{path}" alt="Other {index}" loading="lazy"></a></div>'
    )


def related_cards(
    writer: SiteWriter,
    paths: list[str],
    wrapper: str,
    originals: tuple[str, ...] = (),
    link: Callable[[int], str] = lambda index: f"/p/{index}",
    card: Callable[[str, str, int], str] = _card_in_link,
) -> str:
    """Thumbnails of other products inside `wrapper` (an opening tag), recorded as junk; `originals`
    are the full-size URLs a CDN serves them at (not in the page), written and recorded as junk too;
    card `index` links to `link(index)` and is written by `card(link, path, index)`."""
    items = ""
    for index, path in enumerate(paths):
        seed = 700 + index * 7 + len(path)
        writer.file(path, jpeg(product_photo(seed, (360, 360))))
        writer.junk[path] = "related_product"
        if index < len(originals):
            writer.file(originals[index], jpeg(product_photo(seed, (MASTER_SIDE, MASTER_SIDE))))
            writer.junk[originals[index]] = "related_product"
        items += card(link(index), path, index)
    tag = wrapper.split(maxsplit=1)[0].strip("<>")
    return f"{wrapper}{items}</{tag}>"


def size_chart(seed: int) -> Image.Image:
    """A size chart as shops upload it: a JPEG of a ruled table with dark text-like marks, on white."""
    chart = Image.new("RGB", (1000, 700), (255, 255, 255))
    draw = ImageDraw.Draw(chart)
    for row in range(8):
        top = 80 + row * 75
        draw.line((40, top, 960, top), fill=(170, 170, 170), width=2)
        for column in range(6):
            left = 60 + column * 150
            width = 40 + (seed * 7 + row * 13 + column * 29) % 70
            draw.rectangle(
                (left, top + 25, left + width, top + 45), fill=(30, 30, 30) if row else (200, 40, 40)
            )
    return chart


def add_junk_file(
    writer: SiteWriter, path: str, kind: str, image: Image.Image, image_format: str = "PNG"
) -> str:
    writer.file(path, encode(image, image_format))
    writer.junk[path] = kind
    return path


def add_junk_photos(
    writer: SiteWriter, paths: list[str], kind: str, seed: int, size: tuple[int, int] = (500, 500)
) -> list[str]:
    """Real-looking photos that are junk of `kind` on this page (a social feed, review pictures), one per path."""
    return [
        add_junk_file(writer, path, kind, lifestyle_photo(seed + index, size), "JPEG")
        for index, path in enumerate(paths)
    ]


def chrome_page(writer: SiteWriter, path: str, title: str, head: str, body: str) -> PageTruth:
    """Writes the page at `path` inside the shop's chrome, whose images join the page's junk."""
    writer.junk.update(CHROME_JUNK)
    return writer.page(path, page_html(title, head, body))
