"""Photographs drawn from code: studio product shots and lifestyle scenes, deterministic per seed.

The dev server's demo shop shows them, and the tests' shop sites are built from them: a
product on a white backdrop with a soft shadow and a striped label, or a product in a
grainy scene. Same seed and size, same pixels.
"""

from __future__ import annotations

import random

from PIL import Image, ImageDraw, ImageFilter, ImageOps

WHITE = (255, 255, 255)


def gradient(size: tuple[int, int], dark: tuple[int, int, int], light: tuple[int, int, int]) -> Image.Image:
    ramp = Image.linear_gradient("L").resize(size)
    return ImageOps.colorize(ramp, black=dark, white=light)


def noise(rng: random.Random, size: tuple[int, int]) -> Image.Image:
    grain = Image.frombytes("L", size, rng.randbytes(size[0] * size[1]))
    return Image.merge("RGB", (grain, grain, grain))


def color(rng: random.Random) -> tuple[int, int, int]:
    return (rng.randrange(30, 220), rng.randrange(30, 220), rng.randrange(30, 220))


def draw_product(rng: random.Random, canvas: Image.Image, box: tuple[int, int, int, int]) -> None:
    """A bottle, box or jar with a gradient body, a striped label and sensor grain."""
    left, top, right, bottom = box
    width, height = right - left, bottom - top
    silhouette = Image.new("L", canvas.size, 0)
    draw = ImageDraw.Draw(silhouette)
    shape = rng.choice(["bottle", "box", "jar"])
    if shape == "bottle":
        draw.rounded_rectangle((left, top + height // 4, right, bottom), radius=width // 5, fill=255)
        draw.rectangle((left + width * 3 // 8, top, right - width * 3 // 8, top + height // 4), fill=255)
    elif shape == "box":
        draw.rectangle((left, top + height // 8, right - width // 8, bottom), fill=255)
        draw.polygon(
            [
                (left, top + height // 8),
                (left + width // 8, top),
                (right, top),
                (right - width // 8, top + height // 8),
            ],
            fill=255,
        )
    else:
        draw.ellipse((left, top, right, bottom), fill=255)
    body = gradient(canvas.size, color(rng), color(rng)).rotate(rng.choice([0, 90, 45]))
    body = Image.blend(body, noise(rng, canvas.size), 0.08)
    canvas.paste(body, (0, 0), silhouette)
    draw_label(
        rng,
        ImageDraw.Draw(canvas),
        (left + width // 6, top + height // 2, right - width // 6, bottom - height // 8),
    )


def draw_label(rng: random.Random, draw: ImageDraw.ImageDraw, box: tuple[int, int, int, int]) -> None:
    left, top, right, bottom = box
    draw.rectangle(box, fill=(245, 240, 225), outline=(20, 20, 20), width=3)
    line_y = top + 12
    while line_y < bottom - 12:
        line_end = rng.randrange((left + right) // 2, right - 8)
        draw.rectangle((left + 10, line_y, line_end, line_y + rng.randrange(4, 12)), fill=color(rng))
        line_y += rng.randrange(16, 30)


def product_photo(seed: int, size: tuple[int, int]) -> Image.Image:
    """A studio shot: one product on a seamless white backdrop with a soft shadow."""
    rng = random.Random(seed)  # noqa: S311 - repeatable pictures, not secrets
    width, height = size
    canvas = Image.new("RGB", size, WHITE)
    shadow = Image.new("L", size, 0)
    ImageDraw.Draw(shadow).ellipse((width // 4, height * 5 // 6, width * 3 // 4, height * 9 // 10), fill=90)
    canvas.paste((150, 150, 150), (0, 0), shadow.filter(ImageFilter.GaussianBlur(width // 40)))
    margin_x = rng.randrange(width // 5, width // 3)
    draw_product(rng, canvas, (margin_x, height // 8, width - margin_x, height * 7 // 8))
    return canvas


def lifestyle_photo(seed: int, size: tuple[int, int]) -> Image.Image:
    """A scene: sky and floor gradients, furniture-like shapes, the product on a table, grain everywhere."""
    rng = random.Random(seed)  # noqa: S311 - repeatable pictures, not secrets
    width, height = size
    canvas = gradient(size, color(rng), (235, 240, 250))
    floor = gradient((width, height // 3), color(rng), color(rng))
    canvas.paste(floor, (0, height - height // 3))
    draw = ImageDraw.Draw(canvas)
    for _ in range(14):
        x, y = rng.randrange(width), rng.randrange(height)
        w, h = rng.randrange(width // 12, width // 3), rng.randrange(height // 12, height // 2)
        if rng.random() < 0.5:
            draw.rectangle((x - w // 2, y - h // 2, x + w // 2, y + h // 2), fill=color(rng))
        else:
            draw.ellipse((x - w // 2, y - h // 2, x + w // 2, y + h // 2), fill=color(rng))
    draw_product(rng, canvas, (width * 2 // 5, height // 3, width * 3 // 5, height * 5 // 6))
    return Image.blend(canvas, noise(rng, size), 0.12).filter(ImageFilter.GaussianBlur(0.6))
