"""Image quality of a conversion: PSNR against a high-quality rendering of the source.

The reference is what the store's picture should be, computed in floating point at full resolution: the source's
colours composited onto white by its alpha, then a LANCZOS resize to 600x400, never rounded to 8 bits. A JPEG is
compared with it channel by channel (R, G, B): PSNR = 10 log10(255^2 / mean squared error), higher is better.
"""

from __future__ import annotations

import io
import math
from array import array

from PIL import Image, ImageMath

SIZE = (600, 400)


def reference(path, size=SIZE, background=(255, 255, 255)):
    """The source at path, composited onto the background and LANCZOS-resized, as three float ('F') images."""
    with Image.open(path) as image:
        image = image.convert("RGBA")
    alpha = image.getchannel("A").convert("F")
    channels = []
    for band, colour in zip(image.split()[:3], background):
        # colour * a + background * (1 - a), a in [0, 1]
        composited = ImageMath.lambda_eval(lambda x: x["bg"] + (x["c"] - x["bg"]) * x["a"] / 255.0,
                                           c=band.convert("F"), a=alpha, bg=float(colour))
        channels.append(composited.resize(size, Image.LANCZOS))
    return channels


def psnr(reference_channels, jpeg):
    """PSNR in dB of a JPEG (path or bytes) against reference() of its source."""
    source = io.BytesIO(jpeg) if isinstance(jpeg, bytes) else jpeg
    with Image.open(source) as image:
        bands = image.convert("RGB").split()
    squared, count = 0.0, 0
    for expected, band in zip(reference_channels, bands):
        if band.size != expected.size:
            raise ValueError("the JPEG is %dx%d, the reference %dx%d" % (band.size + expected.size))
        difference = ImageMath.lambda_eval(lambda x: x["a"] - x["b"], a=expected, b=band.convert("F"))
        values = array("f", difference.tobytes())
        squared += math.fsum(v * v for v in values)
        count += len(values)
    mse = squared / count
    return float("inf") if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)
