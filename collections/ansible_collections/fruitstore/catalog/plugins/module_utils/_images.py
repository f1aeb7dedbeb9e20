# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.catalog collection; not a public API.
#
# Turning a supplier's images into the store's JPEGs: the pixel recipe, the per-directory plan
# (what is new, changed or already done, from a manifest) and the parallel run.

from __future__ import annotations

import hashlib
import io
import json
import multiprocessing
import os
import time
import traceback
import warnings

try:
    from PIL import Image, ImageOps
except ImportError:
    Image = None
    PIL_IMPORT_ERROR = traceback.format_exc()
else:
    PIL_IMPORT_ERROR = None

MANIFEST_VERSION = 1
# Files suppliers ship beside the pictures; anything else with an image extension that cannot be read is an error.
IMAGE_EXTENSIONS = frozenset(
    (".tif", ".tiff", ".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
)


class ConversionError(Exception):
    """An image could not be converted; the text names the cause."""


def parse_colour(value):
    """'white', '#ffffff' or 'rgb(255,255,255)' -> an RGB triple."""
    from PIL import ImageColor

    try:
        return ImageColor.getrgb(value)[:3]
    except ValueError:
        raise ConversionError("'%s' is not a colour (use a name like white or a hex code like #ffffff)" % value)


def _open_fast(path):
    """Open path; for an uncompressed RGBA TIFF also return a view of its colours without the alpha.

    Pillow shrinks RGBA by premultiplying the whole full-size image first, which costs three times
    the shrink itself. An uncompressed RGBA TIFF holds the same bytes as RGBX, which Pillow maps
    from the page cache without a copy (single-strip files) and shrinks at full speed; the alpha is
    shrunk on its own.
    """
    image = Image.open(path)
    if image.format != "TIFF" or image.mode != "RGBA" or getattr(image, "n_frames", 1) != 1:
        return image, None
    if not image.tile or any(tile[0] != "raw" or tile[3][0] != "RGBA" for tile in image.tile):
        return image, None
    colours = Image.open(path)
    colours.tile = [tile._replace(args=("RGBX",) + tuple(tile[3][1:])) for tile in colours.tile]
    colours._mode = "RGBX"
    return image, colours


def _normalise_mode(image):
    """Any mode -> RGB, RGBA, L or LA, keeping transparency, scaling 16/32-bit to 8-bit."""
    if image.mode in ("RGB", "RGBA", "L", "LA"):
        return image
    if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        return image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    if image.mode == "F":
        return image.point(lambda value: value * 255).convert("L")
    if image.mode in ("P", "PA"):
        return image.convert("RGBA" if image.has_transparency_data else "RGB")
    if image.mode == "1":
        return image.convert("L")
    return image.convert("RGBA" if "A" in image.mode or "a" in image.mode else "RGB")


def _shrink(image, size):
    """Integer box reduction first (fast, anti-aliased), then an exact LANCZOS resample if needed."""
    factor = min(image.width // size[0], image.height // size[1])
    if factor >= 2:
        image = image.reduce(factor)
    if image.size != size:
        image = image.resize(size, Image.LANCZOS)
    return image


def _flatten(image, background):
    """Composite transparency onto the background colour; return RGB."""
    if image.mode in ("RGBA", "LA"):
        base = Image.new("RGB", image.size, background)
        base.paste(image.convert("RGB"), mask=image.getchannel("A"))
        return base
    return image.convert("RGB")


def render_jpeg(path, size, quality, background, max_pixels):
    """Read the image at path and return the bytes of its size x RGB JPEG rendering."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        Image.MAX_IMAGE_PIXELS = max_pixels
        try:
            image, colours = _open_fast(path)
            if colours is not None:
                shrunk = _shrink(colours, size)
                alpha = _shrink(image.getchannel("A"), size)
                if alpha.getextrema()[0] < 255:
                    shrunk.putalpha(alpha)
            else:
                image.seek(0)
                image = ImageOps.exif_transpose(image)
                shrunk = _shrink(_normalise_mode(image), size)
            flat = _flatten(shrunk, background)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            raise ConversionError("refused before decoding, too many pixels (max_pixels is %d): %s" % (max_pixels, e))
        except Image.UnidentifiedImageError:
            raise ConversionError("not an image Pillow can read")
        except (OSError, SyntaxError, ValueError, EOFError) as e:
            raise ConversionError("cannot decode: %s" % (e or e.__class__.__name__))
    buffer = io.BytesIO()
    flat.save(buffer, "JPEG", quality=quality, optimize=False)
    return buffer.getvalue()


def _stat_key(path):
    stat = os.stat(path)
    return [stat.st_size, stat.st_mtime_ns]


def _write_atomically(path, data):
    temporary = "%s.tmp%d" % (path, os.getpid())
    with open(temporary, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


def convert_one(job):
    """Worker: convert one source; never raises. job = (source, output, previous sha256, settings)."""
    source, output, previous_sha256, settings = job
    started = time.monotonic()
    try:
        data = render_jpeg(source, tuple(settings["size"]), settings["quality"],
                           tuple(settings["background"]), settings["max_pixels"])
        sha256 = hashlib.sha256(data).hexdigest()
        # A touched or re-sent source that renders to the same picture leaves the output alone.
        rewritten = sha256 != previous_sha256 or not os.path.exists(output)
        if rewritten:
            _write_atomically(output, data)
        return {"source": source, "output": output, "sha256": sha256, "rewritten": rewritten,
                "source_stat": _stat_key(source), "output_stat": _stat_key(output),
                "seconds": time.monotonic() - started}
    except ConversionError as e:
        return {"source": source, "error": str(e)}
    except Exception as e:  # one broken file must not stop the delivery
        return {"source": source, "error": "%s: %s" % (e.__class__.__name__, e)}


class Manifest:
    """What earlier runs converted: source name -> source stat, output name, stat and sha256."""

    def __init__(self, path, settings):
        self.path = path
        self.settings = settings
        self.entries = {}
        try:
            with open(path) as handle:
                data = json.load(handle)
        except (OSError, ValueError):
            return
        if data.get("version") == MANIFEST_VERSION and data.get("settings") == settings:
            self.entries = data.get("images", {})

    def is_current(self, name, source, output):
        entry = self.entries.get(name)
        if not entry or entry["output"] != os.path.basename(output):
            return False
        try:
            return entry["source_stat"] == _stat_key(source) and entry["output_stat"] == _stat_key(output)
        except OSError:
            return False

    def previous_sha256(self, name):
        return self.entries.get(name, {}).get("sha256")

    def record(self, name, result):
        self.entries[name] = {"output": os.path.basename(result["output"]), "sha256": result["sha256"],
                              "source_stat": result["source_stat"], "output_stat": result["output_stat"]}

    def save(self):
        data = {"version": MANIFEST_VERSION, "settings": self.settings, "images": self.entries}
        _write_atomically(self.path, json.dumps(data, indent=1, sort_keys=True).encode())


def plan(src, dest, output_extension, manifest):
    """Sort the directory into work to do, work already done, files that are not images and name clashes."""
    to_convert, current, not_images, failed = [], [], [], []
    names = sorted(name for name in os.listdir(src) if not name.startswith("."))
    sources_by_output = {}
    for name in names:
        path = os.path.join(src, name)
        stem, extension = os.path.splitext(name)
        if not os.path.isfile(path):
            continue
        if extension.lower() not in IMAGE_EXTENSIONS:
            not_images.append({"source": path, "reason": "not an image (extension '%s')" % extension})
            continue
        output = os.path.join(dest, stem + output_extension)
        if _is_sibling_output(names, name, stem, output_extension, src, dest):
            continue
        sources_by_output.setdefault(output, []).append((name, path))
    for output, sources in sorted(sources_by_output.items()):
        if len(sources) > 1:
            clash = ", ".join(name for name, _path in sources)
            failed.extend({"source": path, "error": "several sources would become %s: %s" % (os.path.basename(output), clash)}
                          for _name, path in sources)
            continue
        name, path = sources[0]
        if _escapes(src, path):
            failed.append({"source": path, "error": "a symbolic link to a file outside %s; refused" % src})
        elif manifest.is_current(name, path, output):
            current.append({"source": path, "output": output})
        else:
            to_convert.append((name, path, output))
    return to_convert, current, not_images, failed


def _is_sibling_output(names, name, stem, output_extension, src, dest):
    """003.jpeg beside 003.tiff in the same directory is our output, not a second source."""
    if os.path.abspath(src) != os.path.abspath(dest) or not name.endswith(output_extension):
        return False
    return any(other != name and os.path.splitext(other)[0] == stem for other in names)


def _escapes(src, path):
    real_dir = os.path.realpath(src)
    return os.path.commonpath([real_dir, os.path.realpath(path)]) != real_dir


def run(jobs, workers, progress=None):
    """Convert jobs on `workers` processes; yield results as they finish, in any order."""
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield convert_one(job)
        return
    # fork: the workers inherit this module as loaded from the module's payload.
    context = multiprocessing.get_context("fork")
    with context.Pool(processes=min(workers, len(jobs))) as pool:
        yield from pool.imap_unordered(convert_one, jobs, chunksize=1)
