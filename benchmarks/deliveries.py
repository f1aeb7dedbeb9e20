"""Supplier deliveries for the benchmark: a pool of distinct generated images, hard-linked into deliveries.

Generating 2,000 photo-like 3000x2000 TIFFs would take long and fill 48 GB, so each compression gets a pool of
`POOL_SIZE` distinct images (tools/generate_delivery.py, seed 0), generated once and kept in the work directory.
A delivery of N products hard-links pool image (k % POOL_SIZE) as product k's image and writes N descriptions: every
measured run gets a fresh directory of its own (its outputs, manifest and journal cannot leak into the next run),
while the page cache only has to hold the pool.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from PIL import Image, ImageOps  # noqa: E402

from tools import generate_delivery  # noqa: E402

POOL_SIZE = 200
COMPRESSIONS = {"none": "uncompressed", "tiff_lzw": "LZW"}


def pool(work, compression, size=POOL_SIZE):
    """The directory of the pool's images (001.tiff ...), generated on first use."""
    directory = Path(work, "pool-%s-%d" % (compression, size))
    done = directory / ".complete"
    if not done.exists():
        if directory.exists():
            shutil.rmtree(directory)
        print("generating %d distinct %s images in %s (once)" % (size, COMPRESSIONS.get(compression, compression),
                                                                directory), flush=True)
        generate_delivery.generate(str(directory), count=size, compression=compression)
        done.write_text("")
    return directory / "images"


def pool_images(work, compression, size=POOL_SIZE):
    directory = pool(work, compression, size)
    return sorted(p for p in directory.iterdir() if p.suffix == ".tiff")


def make_delivery(target, work, compression, count, first=0, pool_size=POOL_SIZE, supplier=None):
    """Write a delivery of `count` products to target (images hard-linked from the pool); return target.

    first: number of the first product (0-based), to add products to an existing delivery. supplier: a name added to
    each product's name, so that suppliers numbered alike bring products of their own."""
    target = Path(target)
    images, descriptions = target / "images", target / "descriptions"
    images.mkdir(parents=True, exist_ok=True)
    descriptions.mkdir(parents=True, exist_ok=True)
    sources = pool_images(work, compression, pool_size)
    for name in ("README", "LICENSE"):
        if not (images / name).exists():
            shutil.copyfile(sources[0].parent / name, images / name)
    stems = generate_delivery.products(first + count)
    for i in range(first, first + count):
        stem, name, weight = stems[i]
        if supplier:
            name = "%s (%s)" % (name, supplier)
        os.link(sources[i % len(sources)], images / (stem + ".tiff"))
        with open(descriptions / (stem + ".txt"), "w", encoding="utf-8", newline="\n") as handle:
            handle.write(generate_delivery.description_text(i, name, weight))
    return target


def add_product(delivery, work, compression, count, pool_size=POOL_SIZE):
    """Add product number count+1 (stem 2001 after 0001 ... 2000) to a delivery of `count` products."""
    delivery = Path(delivery)
    sources = pool_images(work, compression, pool_size)
    stem, name, weight = generate_delivery.products(count + 1)[count]
    # A picture the delivery does not have yet (pool images repeat every POOL_SIZE products): a pool image
    # mirrored, of the same size, mode and compression.
    with Image.open(sources[count % len(sources)]) as image:
        options = {"compression": compression} if compression != "none" else {}
        ImageOps.mirror(image).save(delivery / "images" / (stem + ".tiff"), **options)
    with open(delivery / "descriptions" / (stem + ".txt"), "w", encoding="utf-8", newline="\n") as handle:
        handle.write(generate_delivery.description_text(count, name, weight))
    return stem


def warm(paths):
    """Read every file once so that both sides of a comparison start with the images in the page cache."""
    seen = set()
    total = 0
    for path in paths:
        inode = os.stat(path).st_ino
        if inode in seen:
            continue
        seen.add(inode)
        with open(path, "rb", buffering=0) as handle:
            while True:
                block = handle.read(1 << 22)
                if not block:
                    break
                total += len(block)
    return total


def delivery_images(delivery):
    return sorted(str(p) for p in Path(delivery, "images").iterdir() if p.suffix == ".tiff")
