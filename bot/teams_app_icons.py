"""The Teams app's two icons: drawn with Pillow, and checked as Microsoft's docs ask.

The colour icon is a full-colour 192x192 PNG (the whole square, the accent colour as its
background); the outline icon a 32x32 PNG, white on a transparent background.
"""
from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFont, features

ACCENT_COLOR = "#1c3f94"
COLOR_ICON = "color.png"
OUTLINE_ICON = "outline.png"
COLOR_SIZE = (192, 192)
OUTLINE_SIZE = (32, 32)


def _shield(size: int, inset: float) -> list[tuple[float, float]]:
    """A simple shield outline scaled to a square of ``size`` pixels."""
    s, i = size, inset
    return [(i, i), (s - 1 - i, i), (s - 1 - i, s * 0.55), (s / 2, s - 1 - i), (i, s * 0.55)]


def _font(size: int):
    if features.check("freetype2"):
        try:
            return ImageFont.load_default(size=size)
        except TypeError:  # Pillow < 10.1 has no sized default font
            pass
    return ImageFont.load_default()


def color_icon() -> bytes:
    """192x192: a white shield with "SSP" on the accent colour."""
    width, height = COLOR_SIZE
    image = Image.new("RGB", COLOR_SIZE, ACCENT_COLOR)
    draw = ImageDraw.Draw(image)
    draw.polygon(_shield(width, 26), outline="white", width=8)
    font = _font(50)
    left, top, right, bottom = draw.textbbox((0, 0), "SSP", font=font)
    text_w, text_h = right - left, bottom - top
    if text_w > width - 80:  # bitmap fallback font: draw small, then scale up
        small = Image.new("L", (right, bottom), 0)
        ImageDraw.Draw(small).text((0, 0), "SSP", fill=255, font=font)
        small = small.crop((left, top, right, bottom))
        factor = max(1, (width - 80) // max(1, text_w))
        mask = small.resize((text_w * factor, text_h * factor), Image.NEAREST)
        image.paste("white", ((width - mask.width) // 2, int(height * 0.42) - mask.height // 2),
                    mask)
    else:
        draw.text(((width - text_w) / 2 - left, height * 0.42 - text_h / 2 - top), "SSP",
                  fill="white", font=font)
    return _png(image)


def outline_icon() -> bytes:
    """32x32: a white shield outline with an exclamation mark, on a transparent background.

    Every pixel is either fully transparent or opaque white (no anti-aliasing)."""
    image = Image.new("RGBA", OUTLINE_SIZE, (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    white = (255, 255, 255, 255)
    draw.polygon(_shield(32, 2), outline=white, width=2)
    draw.rectangle((15, 8, 16, 17), fill=white)
    draw.rectangle((15, 20, 16, 21), fill=white)
    return _png(image)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def default_icons() -> dict[str, bytes]:
    return {COLOR_ICON: color_icon(), OUTLINE_ICON: outline_icon()}


def check_icon(name: str, data: bytes, size: tuple[int, int], *, outline: bool) -> list[str]:
    """Why ``data`` is not a fitting icon of ``size`` (in Danish); empty if it is."""
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except Exception:  # noqa: BLE001 - any unreadable file is a problem to report
        return [f"{name} kan ikke læses som et billede"]
    problems = []
    if image.format != "PNG":
        problems.append(f"{name} skal være en PNG-fil (er {image.format})")
    if image.size != size:
        problems.append(f"{name} skal være {size[0]}x{size[1]} pixels (er "
                        f"{image.size[0]}x{image.size[1]})")
    if outline:
        rgba = image.convert("RGBA")
        pixels = list(rgba.getdata())
        if not any(a == 0 for *_, a in pixels):
            problems.append(f"{name} skal have en gennemsigtig baggrund")
        if any(a != 0 and (r, g, b) != (255, 255, 255) for r, g, b, a in pixels):
            problems.append(f"{name} må kun indeholde hvide og gennemsigtige pixels")
        if not any(a != 0 for *_, a in pixels):
            problems.append(f"{name} er helt gennemsigtigt")
    return problems
