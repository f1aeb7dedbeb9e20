#!/usr/bin/env python3
"""Write a supplier delivery like the lab's (see docs/store-api.md, "Supplier data").

    OUT/images/NNN.tiff, OUT/images/README, OUT/images/LICENSE   (the last two are text, not images)
    OUT/descriptions/NNN.txt

The first ten products are the lab's reference set (2,790 lbs in all); further ones are numbered variants of them.
With --names-from B every name ends in " (batch B)" ("Apple (batch 7)"), so that deliveries made with different B
share no product name and each comes into a store that has the others as new products, not as listed ones.
Images are RGBA, 8 bit, photo-like (gradient, shaded fruit, grain) and the same for the same seed.

    python tools/generate_delivery.py OUT [--count N] [--compression none|tiff_lzw|tiff_adobe_deflate]
                                          [--size 3000x2000] [--seed S] [--names-from B] [--workers K]
"""
import argparse
import math
import os
import random
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageOps

NBSP = "\u00a0"
COMPRESSIONS = ("none", "tiff_lzw", "tiff_adobe_deflate")
# The longest batch name that keeps every product name within the store's limit of 100 characters.
BATCH_MAX = 40

# name, weight (lbs), colour, shape, description (curly apostrophes on purpose)
REFERENCE = [
    ("Apple", 500, (196, 32, 38), "round",
     "If a green apple isn\u2019t your thing, this crisp red one will be: sweet with a gentle tartness, it keeps for "
     "weeks in a cool cellar and is as good baked into a pie as eaten straight from the crate."),
    ("Avocado", 200, (70, 98, 34), "pear",
     "Creamy, buttery and rich in healthy fats, the avocado ripens on the counter in a few days; slice it onto "
     "toast, mash it into guacamole or blend it into a smoothie for a silky texture."),
    ("Blackberry", 150, (46, 22, 58), "berry",
     "Plump, glossy blackberries picked at their peak, with a deep sweet-tart flavour that shines in jams, "
     "cobblers and summer salads. Keep them cool and dry and eat them within a few days."),
    ("Grape", 200, (112, 46, 124), "grapes",
     "Seedless table grapes in heavy, well-filled bunches: juicy, sweet and crunchy. They are a snack that "
     "needs no preparation, and they freeze well for a cold treat on a hot day."),
    ("Kiwifruit", 250, (128, 96, 52), "oval",
     "Under its fuzzy brown skin the kiwifruit hides bright green flesh with tiny black seeds and a tangy, "
     "tropical taste; it\u2019s packed with vitamin C and ripens best at room temperature."),
    ("Lemon", 300, (246, 214, 48), "lemon",
     "Bright, fragrant lemons with thin skins and plenty of juice. A squeeze lifts fish, salads and drinks, "
     "and the zest gives cakes and dressings a fresh citrus note."),
    ("Mango", 300, (240, 152, 36), "oval",
     "Sweet, fragrant and smooth, these mangoes have golden flesh with hardly any fibre; they are ready when "
     "they give slightly to the touch and smell sweet near the stem."),
    ("Plum", 150, (96, 32, 86), "round",
     "Dark purple plums with a sweet, honeyed flesh and a pleasantly tart skin, delicious fresh, stewed with a "
     "little cinnamon or baked into a classic plum cake."),
    ("Strawberry", 240, (214, 30, 48), "strawberry",
     "Fragrant strawberries grown for flavour rather than for shipping: red to the core and wonderfully sweet. "
     "They\u2019re best at room temperature, rinsed just before they are eaten."),
    ("Watermelon", 500, (52, 124, 54), "melon",
     "A big, heavy watermelon with a crisp rind and sweet, juicy red flesh, the taste of summer itself; chill "
     "it before slicing and serve it in wedges at a picnic or barbecue."),
]


def products(count, names_from=None):
    """[(stem, name, weight)] for a delivery of `count` products; the same whatever the seed. With `names_from`, each
    name ends in " (batch <names_from>)": deliveries with different `names_from` share no name."""
    if names_from is not None:
        check_batch(names_from)
    width = max(3, len(str(count)))
    result = []
    for i in range(count):
        stem = f"{i + 1:0{width}d}"
        name, weight = REFERENCE[i % 10][:2]
        if i >= 10:
            name, weight = f"{name} {stem}", weight + (i * 37) % 41 - 20
        if names_from is not None:
            name = f"{name} (batch {names_from})"
        result.append((stem, name, weight))
    return result


def check_batch(text):
    """Refuse a batch name that would not survive a description file's first line, or the store's length limit."""
    if not isinstance(text, str) or not text or text != text.strip() or len(text) > BATCH_MAX \
            or not text.isprintable():
        raise ValueError(f"the batch name {text!r} is not usable in a product name: give 1 to {BATCH_MAX} printable "
                         "characters, without spaces at either end (for example 7 or week-48)")
    return text


def description_text(i, name, weight):
    """The description file, with the quirks real ones have: stray NBSPs and sometimes an extra blank line."""
    lines = [name, f"{weight} lbs", REFERENCE[i % 10][4]]
    if i % 3 == 0:
        lines[0] += NBSP
    if i % 5 == 2:
        lines[1] += NBSP
    if i % 4 == 1:
        lines[2] += NBSP
    text = "\n".join(lines) + "\n"
    return text + "\n" if i % 2 == 0 else text


# A fruit is a list of parts, each shaded as one body; a part is a union of ellipses (dx, dy, rx, ry) in fractions
# of the image height around the fruit's centre.
SHAPES = {
    "round": [[(0, 0, 0.31, 0.29)]],
    "pear": [[(0, 0.07, 0.25, 0.30), (0, -0.15, 0.16, 0.19)]],
    "oval": [[(0, 0, 0.36, 0.26)]],
    "lemon": [[(0, 0, 0.35, 0.25), (-0.33, 0, 0.07, 0.06), (0.33, 0, 0.07, 0.06)]],
    "melon": [[(0, 0, 0.46, 0.34)]],
    # a rounded cone: ellipses narrowing downwards
    "strawberry": [[(0, -0.1 + k * 0.04, 0.27 * (1 - (k / 9) ** 1.5) + 0.03, 0.13) for k in range(9)]],
}


def _parts(shape, rng):
    if shape == "berry":  # a cluster of drupelets
        return [[(rng.uniform(-0.17, 0.17), rng.uniform(-0.22, 0.22), 0.07, 0.07)] for _ in range(40)]
    if shape == "grapes":  # a bunch narrowing downwards
        return [[((k - (n - 1) / 2) * 0.15 + rng.uniform(-0.02, 0.02), -0.3 + row * 0.12, 0.085, 0.085)]
                for row, n in enumerate((5, 4, 4, 3, 2, 1)) for k in range(n)]
    return SHAPES[shape]


def _paint_part(img, ellipses, colour, radial):
    """Paint the union of `ellipses` ((x0, y0, x1, y1) in pixels) in `colour`, lit from the upper left."""
    x0, y0 = min(e[0] for e in ellipses), min(e[1] for e in ellipses)
    x1, y1 = max(e[2] for e in ellipses), max(e[3] for e in ellipses)
    w, h = max(1, round(x1 - x0)), max(1, round(y1 - y0))
    # The radial gradient is 0 at its centre: take the window that puts the centre at the highlight.
    shade = radial.resize((w, h), Image.BILINEAR, box=(40, 45, 40 + 256 * 0.55, 45 + 256 * 0.55))
    highlight = tuple(int(c + (255 - c) * 0.6) for c in colour)
    dark = tuple(int(c * 0.3) for c in colour)
    patch = ImageOps.colorize(shade, black=highlight, mid=colour, white=dark, midpoint=70)
    mask = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(mask)
    for ex0, ey0, ex1, ey1 in ellipses:
        draw.ellipse((ex0 - x0, ey0 - y0, ex1 - x0, ey1 - y0), fill=255)
    mask = mask.filter(ImageFilter.GaussianBlur(max(0.6, min(w, h) / 80)))
    img.paste(patch, (round(x0), round(y0)), mask)
    return (round(x0), round(y0), round(x0) + w, round(y0) + h)


def _grain(size, amplitude, rng, mode):
    """Uniform noise in [0, 2*amplitude] per channel, to be added with offset -amplitude."""
    bands = len(mode)
    noise = Image.frombytes(mode, size, rng.randbytes(size[0] * size[1] * bands))
    return noise.point(lambda v: v * (2 * amplitude + 1) // 256)


def make_image(i, size=(3000, 2000), seed=0):
    """The RGBA image of product `i` (0-based)."""
    rng = random.Random(f"fruitstore:{seed}:{i}")
    _, _, colour, shape, _ = REFERENCE[i % 10]
    width, height = size
    # Compose at a quarter of the size (cheap), scale up, then add full-size grain.
    sw, sh = max(8, width // 4), max(8, height // 4)

    top = tuple(min(255, int(200 + rng.uniform(0, 50) + c * 0.05)) for c in colour)
    bottom = tuple(int(c * 0.25 + rng.uniform(70, 120)) for c in reversed(colour))
    img = ImageOps.colorize(Image.linear_gradient("L").resize((sw, sh)), black=top, white=bottom)
    vignette = ImageOps.colorize(Image.radial_gradient("L").resize((sw, sh), box=(24, 24, 232, 232)),
                                 black=(255, 255, 255), white=(150, 150, 150))
    img = ImageChops.multiply(img, vignette)

    cx = sw / 2 + rng.uniform(-0.08, 0.08) * sw
    cy = sh / 2 + rng.uniform(-0.04, 0.04) * sh
    scale = sh * rng.uniform(0.9, 1.05)
    parts = [[(cx + dx * scale, cy + dy * scale, rx * scale, ry * scale) for dx, dy, rx, ry in part]
             for part in _parts(shape, rng)]
    blobs = [blob for part in parts for blob in part]

    shadow = Image.new("L", (sw, sh), 0)
    left = min(x - rx for x, _, rx, _ in blobs)
    right = max(x + rx for x, _, rx, _ in blobs)
    base = max(y + ry for _, y, _, ry in blobs)
    ImageDraw.Draw(shadow).ellipse((left, base - 0.06 * sh, right + 0.08 * sw, base + 0.05 * sh), fill=110)
    img.paste((20, 15, 10), (0, 0), shadow.filter(ImageFilter.GaussianBlur(sh / 40)))

    radial = Image.radial_gradient("L")
    for part in parts:
        tint = tuple(max(0, min(255, int(c * rng.uniform(0.88, 1.12)))) for c in colour)
        box = _paint_part(img, [(x - rx, y - ry, x + rx, y + ry) for x, y, rx, ry in part], tint, radial)
    if shape == "strawberry":  # seeds, then the calyx on top (box: the berry's)
        draw, (x0, y0, x1, y1) = ImageDraw.Draw(img), box
        seed_r = sh * 0.0025
        for _ in range(70):
            x, y = rng.uniform(x0, x1), rng.uniform(y0, y1)
            if abs(x - (x0 + x1) / 2) < (x1 - x0) * 0.42 * (1 - (y - y0) / (y1 - y0)) ** 0.7:
                draw.ellipse((x - 1.5 * seed_r, y - seed_r, x + 1.5 * seed_r, y + seed_r), fill=(236, 206, 96))
        x, y = (x0 + x1) / 2, y0 + 0.03 * sh
        for angle in range(15, 375, 60):
            a = math.radians(angle)
            tip = (x + 0.14 * sh * math.cos(a), y + 0.05 * sh * math.sin(a))
            draw.polygon([(x - 0.025 * sh, y), tip, (x + 0.025 * sh, y)], fill=(48, 112, 36))

    img = ImageChops.add(img, _grain((sw, sh), 6, rng, "RGB"), 1.0, -6)  # blotchy texture once scaled up
    img = img.resize((width, height), Image.BILINEAR)
    grain = _grain((width, height), 5, rng, "L")
    img = ImageChops.add(img, Image.merge("RGB", (grain, grain, grain)), 1.0, -5)

    # Opaque, but for a soft transparent rim of a few percent: compositing on white differs from dropping alpha.
    rim = max(1, round(min(sw, sh) * 0.025))
    alpha = Image.new("L", (sw, sh), 0)
    ImageDraw.Draw(alpha).rounded_rectangle((rim, rim, sw - 1 - rim, sh - 1 - rim), radius=3 * rim, fill=255)
    alpha = alpha.filter(ImageFilter.GaussianBlur(rim / 2)).resize((width, height), Image.BILINEAR)
    return Image.merge("RGBA", (*img.split(), alpha))


def _write_image(job):
    i, path, size, seed, compression = job
    make_image(i, size, seed).save(path, format="TIFF", compression=compression)
    return path


README = """Supplier delivery: product images
=================================

NNN.tiff is the photo of the product described in ../descriptions/NNN.txt.
Images are TIFF, RGBA, 8 bits per channel. This README and the LICENSE file are not images.
"""

LICENSE = """The images and descriptions of this delivery are synthetic, made by tools/generate_delivery.py of
the fruitstore project. They are dedicated to the public domain (CC0 1.0): use them for anything.
"""


def generate(out, count=10, compression=None, size=(3000, 2000), seed=0, workers=None, names_from=None):
    """Write a delivery of `count` products under `out`; returns [(stem, name, weight)]. names_from: see products()."""
    if compression == "none":
        compression = None
    if compression not in (None, *COMPRESSIONS):
        raise ValueError(f"unknown compression {compression!r}; use one of {', '.join(COMPRESSIONS)}")
    out = Path(out)
    images, descriptions = out / "images", out / "descriptions"
    images.mkdir(parents=True, exist_ok=True)
    descriptions.mkdir(parents=True, exist_ok=True)
    (images / "README").write_text(README, encoding="utf-8")
    (images / "LICENSE").write_text(LICENSE, encoding="utf-8")

    items = products(count, names_from)
    for i, (stem, name, weight) in enumerate(items):
        with open(descriptions / f"{stem}.txt", "w", encoding="utf-8", newline="\n") as f:
            f.write(description_text(i, name, weight))

    jobs = [(i, images / f"{stem}.tiff", tuple(size), seed, compression) for i, (stem, _, _) in enumerate(items)]
    workers = min(workers or os.cpu_count() or 1, max(1, len(jobs)))
    if workers == 1:
        for job in jobs:
            _write_image(job)
    else:
        with ProcessPoolExecutor(workers) as pool:
            list(pool.map(_write_image, jobs))
    return items


def _size(text):
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT, got {text!r}")
    if width < 1 or height < 1:
        raise argparse.ArgumentTypeError(f"size must be positive, got {text!r}")
    return width, height


def _batch(text):
    try:
        return check_batch(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e))


def main(argv=None):
    parser = argparse.ArgumentParser(description="Write a supplier delivery like the lab's.")
    parser.add_argument("out", type=Path, help="delivery directory (images/ and descriptions/ go under it)")
    parser.add_argument("--count", type=int, default=10, help="number of products (default 10)")
    parser.add_argument("--compression", choices=COMPRESSIONS, default="none", help="TIFF compression")
    parser.add_argument("--size", type=_size, default=(3000, 2000), help="image size WxH (default 3000x2000)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the image content (default 0)")
    parser.add_argument("--names-from", metavar="BATCH", type=_batch, default=None,
                        help="give the products names of their own, made from BATCH: 'Apple (batch 7)' for 7. "
                             "Deliveries made with different BATCH share no product name, so a store that already "
                             "has one takes the next as new products (not LISTED). Default: the lab's names "
                             "('Apple', ...)")
    parser.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    args = parser.parse_args(argv)
    if args.count < 0:
        parser.error("--count must not be negative")

    start = time.perf_counter()
    items = generate(args.out, args.count, args.compression, args.size, args.seed, args.workers, args.names_from)
    took = time.perf_counter() - start
    total = sum(weight for _, _, weight in items)
    print(f"Wrote {len(items)} products ({total:,} lbs) to {args.out} in {took:.2f} s "
          f"({args.size[0]}x{args.size[1]}, compression {args.compression})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
