# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.catalog collection; not a public API.
#
# The pixels, with Pillow: a supplier's image rendered as the store's JPEG (the recipe, and the fast path for the
# RGBA TIFFs suppliers send), the small JPEGs of the report and of the delivery page's preview, and why a file that
# is no picture is refused. What to convert and the processes that do it: _conversion.py.

from __future__ import annotations

import io
import os
import platform
import re
import sys
import traceback
import warnings

from ansible.module_utils.basic import missing_required_lib

try:
    from PIL import Image, ImageOps, TiffImagePlugin
    from PIL import __version__ as PILLOW_VERSION  # the version Pillow's own metadata gives pip
except ImportError:
    Image = None
    PILLOW_VERSION = None
    PIL_IMPORT_ERROR = traceback.format_exc()
else:
    PIL_IMPORT_ERROR = None

# The oldest Pillow the conversion works with, said once: _open_fast reads and rewrites the TIFF reader's tile
# records by their fields (codec_name, extents, offset, args), which Pillow 11.0.0 introduced. The collection's
# requirements.txt and the converting modules' documented requirements name the same version
# (tests/release/test_pillow_minimum.py checks them, and converts with exactly this version).
PILLOW_MIN_VERSION = "11.0.0"

ORIENTATION = 0x0112  # the EXIF/TIFF tag that says how a picture is stored rotated or mirrored
# How to turn a picture stored with each orientation upright (without Pillow, the modules say that it is missing).
TURNS = {2: "FLIP_LEFT_RIGHT", 3: "ROTATE_180", 4: "FLIP_TOP_BOTTOM", 5: "TRANSPOSE", 6: "ROTATE_270",
         7: "TRANSVERSE", 8: "ROTATE_90"}
TURNS = {key: getattr(Image.Transpose, name) for key, name in TURNS.items()} if Image is not None else {}


def _version_tuple(version):
    return tuple(int(part) for part in re.findall(r"\d+", version)[:3])


def pillow_problem(version=None):
    """None when the installed Pillow converts; otherwise (message, traceback) for fail_json, in the words of
    missing_required_lib, naming the minimum version and the installed one."""
    if PIL_IMPORT_ERROR:
        return missing_required_lib("Pillow >= %s" % PILLOW_MIN_VERSION), PIL_IMPORT_ERROR
    version = version or PILLOW_VERSION
    if _version_tuple(version) >= _version_tuple(PILLOW_MIN_VERSION):
        return None
    return ("Pillow %s is installed on %s's Python %s, but this module needs Pillow >= %s (its TIFF reader's tile "
            "records). Please read the module documentation and upgrade it in the appropriate location "
            "(python -m pip install 'Pillow>=%s'). If a newer Pillow is installed, but Ansible is using the wrong "
            "Python interpreter, please consult the documentation on ansible_python_interpreter"
            % (version, platform.node(), sys.executable, PILLOW_MIN_VERSION, PILLOW_MIN_VERSION)), None


class ConversionError(Exception):
    """An image could not be converted; the text names the cause."""


def parse_colour(value):
    """'white', '#ffffff' or 'rgb(255,255,255)' -> an RGB triple."""
    from PIL import ImageColor

    try:
        return ImageColor.getrgb(value)[:3]
    except ValueError:
        raise ConversionError("'%s' is not a colour (use a name like white or a hex code like #ffffff)" % value)


def _take_orientation(image):
    """The orientation a TIFF's tags give (1: stored upright), taken out of Pillow's hands: Pillow 11 to 13 decode an
    uncompressed TIFF stored turned into a scrambled picture. The caller turns the loaded picture itself."""
    if image.format != "TIFF":
        return 1  # Pillow leaves the others as stored; ImageOps.exif_transpose turns them
    exif = image.getexif()
    orientation = exif.get(ORIENTATION, 1)
    if orientation not in TURNS:
        return 1
    del exif[ORIENTATION]
    image.tag_v2.pop(ORIENTATION, None)
    image._size = image._tile_size  # the stored size, which the strips are decoded into
    return orientation


def _open_fast(path):
    """Open path; return (image, alpha_in_band_4, orientation to turn it by once loaded).

    An 8-bit RGBA TIFF with straight (unassociated) alpha comes back relabelled as RGBX: the same
    bytes, but Pillow shrinks RGBX at full speed, while it shrinks RGBA by first premultiplying the
    whole full-size image (about 4x slower). Pillow's reduce and resize treat the 4th band like the
    others, so the alpha is shrunk with the colours in the same pass and read back from band 4.
    An uncompressed file relabelled this way is mapped from the page cache instead of read.
    """
    image = Image.open(path)
    orientation = _take_orientation(image)
    tiles = image.tile
    if (image.format != "TIFF" or image.mode != "RGBA" or not tiles
            or any(tile.codec_name not in ("raw", "libtiff") or tile.args[0] != "RGBA" for tile in tiles)):
        return image, False, orientation
    image.tile = _single_strip([tile._replace(args=("RGBX",) + tuple(tile.args[1:])) for tile in tiles], image.size)
    image._mode = "RGBX"
    return image, True, orientation


def _single_strip(tiles, size):
    """Raw strips stored back to back, top to bottom -> one strip, which Pillow maps instead of reading.

    Most TIFF writers cut uncompressed images into strips of a few rows; Pillow maps only one-strip files.
    """
    first, row = tiles[0], size[0] * 4
    if len(tiles) > 1 and all(
            tile.codec_name == "raw" and tile.args == first.args and tile.args[2] == 1
            and tile.extents[0] == 0 and tile.extents[2] == size[0]
            and tile.offset == first.offset + tile.extents[1] * row for tile in tiles) \
            and first.extents[1] == 0 and tiles[-1].extents[3] == size[1] \
            and all(a.extents[3] == b.extents[1] for a, b in zip(tiles, tiles[1:])):
        return [first._replace(extents=(0, 0) + size)]
    return tiles


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
        return _composite(image.convert("RGB"), image.getchannel("A"), background)
    return image.convert("RGB")


def _composite(image, alpha, background):
    """Blend the background colour in where alpha is not opaque, in place; image is RGB or RGBX."""
    if alpha.getextrema()[0] == 255:
        return image  # opaque, the usual case
    colour = tuple(background) + (255,) * (len(image.mode) - 3)
    transparency = ImageOps.invert(alpha)
    # Blending all 600x400 pixels costs a seventh of a whole conversion: blend only the part of each
    # 100x100 tile that is not opaque (a transparent rim, say). Crops past the edge are 0, i.e. opaque.
    for top in range(0, image.height, 100):
        for left in range(0, image.width, 100):
            tile = transparency.crop((left, top, left + 100, top + 100))
            inner = tile.getbbox()
            if inner:
                image.paste(colour, (left + inner[0], top + inner[1], left + inner[2], top + inner[3]),
                            tile.crop(inner))
    return image


def render_jpeg(path, size, quality, background, max_pixels):
    """Read the image at path and return the bytes of its size x RGB JPEG rendering."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        Image.MAX_IMAGE_PIXELS = max_pixels
        try:
            image, alpha_in_band_4, orientation = _open_fast(path)
            if alpha_in_band_4:
                image.load()  # maps or decodes
                if orientation != 1:
                    image = image.transpose(TURNS[orientation])
                shrunk = _shrink(image, size)
                # The JPEG encoder takes RGBX as it is (it ignores the 4th band): no conversion to RGB.
                flat = _composite(shrunk, shrunk.getchannel(3), background)
            else:
                image.seek(0)
                image.load()
                image = image.transpose(TURNS[orientation]) if orientation != 1 else ImageOps.exif_transpose(image)
                flat = _flatten(_shrink(_normalise_mode(image), size), background)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            raise ConversionError("refused before decoding, too many pixels (max_pixels is %d): %s" % (max_pixels, e))
        except Image.UnidentifiedImageError:
            raise ConversionError(_unreadable_reason(path))
        except (OSError, SyntaxError, ValueError, EOFError) as e:
            raise ConversionError("cannot decode: %s" % (e or e.__class__.__name__))
    buffer = io.BytesIO()
    flat.save(buffer, "JPEG", quality=quality, optimize=False)
    return buffer.getvalue()


def thumbnail(picture, size=(150, 100), quality=80):
    """A small JPEG of a picture (a path or a file object), decoded at reduced size where the format allows (a JPEG),
    transparency on white; None when it cannot be read. The report's thumbnails (the defaults), and the delivery
    page's preview of a supplier's image."""
    if Image is None:
        return None
    try:
        with Image.open(picture) as image:
            image.draft("RGB", size)  # the JPEG decoder scales down by itself: 1/4 of 600x400
            if image.mode not in ("RGB", "RGBA", "L", "LA"):
                image = image.convert("RGBA")  # Pillow would shrink a palette or 1-bit picture by picking pixels
            image.thumbnail(size, reducing_gap=2.0)
            image = image.convert("RGBA")
            flat = Image.new("RGB", image.size, "white")
            flat.paste(image, mask=image.getchannel("A"))
            buffer = io.BytesIO()
            flat.save(buffer, "JPEG", quality=quality)
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    return buffer.getvalue()


_SIGNATURES = (b"II*\x00", b"MM\x00*", b"\x89PNG", b"\xff\xd8", b"GIF8", b"BM", b"RIFF")


def _unreadable_reason(path):
    """Why Pillow could not even identify the file, in the words a supplier understands."""
    with open(path, "rb") as handle:
        head = handle.read(8)
        if head[:4] in (b"II*\x00", b"MM\x00*"):
            kind = _tiff_kind(handle, head)
            if kind:
                return ("a valid TIFF that cannot be decoded: its pixels are %s, which the converter does not read; "
                        "export it with 8 or 16 bits per sample" % kind)
    if not head:
        return "an empty file (0 bytes), not an image"
    if head.startswith(_SIGNATURES):
        return "a damaged or cut-short image file: its header cannot be read"
    return "not an image: its content is no picture format (a text file with an image name?)"


def _tiff_kind(handle, head):
    """'32-bit floating point samples' for a whole TIFF (every strip there) whose samples the converter cannot read;
    None for anything else, a TIFF cut short among them."""
    try:
        directory = TiffImagePlugin.ImageFileDirectory_v2(ifh=head)
        handle.seek(directory.next)
        directory.load(handle)
        bits, sample_format = directory.get(258), directory.get(339, (1,))
        offsets, counts = directory.get(273) or directory.get(324), directory.get(279) or directory.get(325)
        if bits is None or not offsets or not counts:
            return None
        bits = bits if isinstance(bits, tuple) else (bits,)
        sample_format = sample_format if isinstance(sample_format, tuple) else (sample_format,)
        handle.seek(0, os.SEEK_END)
        if handle.tell() < max(offset + count for offset, count in zip(offsets, counts)):
            return None  # cut short
        if sample_format[0] == 1 and set(bits) <= {1, 8, 16}:
            return None
        kind = {1: "integer", 2: "signed integer", 3: "floating point"}.get(sample_format[0], "unknown")
        return "%s-bit %s samples" % ("/".join(str(b) for b in sorted(set(bits))), kind)
    except Exception:  # anything that does not parse is no valid TIFF: the caller says it is damaged
        return None
