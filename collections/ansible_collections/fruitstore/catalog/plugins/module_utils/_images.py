# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.catalog collection; not a public API.
#
# Turning a supplier's images into the store's JPEGs: the pixel recipe, the per-directory plan
# (what is new, changed or already done, from a manifest) and the parallel run.

from __future__ import annotations

import collections
import contextlib
import hashlib
import io
import json
import multiprocessing
import os
import platform
import re
import sys
import time
import traceback
import warnings

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.fruitstore.catalog.plugins.module_utils._files import (
    ensure_parent,
    exclusive,
    load_json_state,
    open_append,
    shape,
    NEW_FILE_MODE,
    write_atomically,
)

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

MANIFEST_VERSION = 1
ORIENTATION = 0x0112  # the EXIF/TIFF tag that says how a picture is stored rotated or mirrored
# How to turn a picture stored with each orientation upright (without Pillow, the modules say that it is missing).
TURNS = {2: "FLIP_LEFT_RIGHT", 3: "ROTATE_180", 4: "FLIP_TOP_BOTTOM", 5: "TRANSPOSE", 6: "ROTATE_270",
         7: "TRANSVERSE", 8: "ROTATE_90"}
TURNS = {key: getattr(Image.Transpose, name) for key, name in TURNS.items()} if Image is not None else {}

# Files suppliers ship beside the pictures; anything else with an image extension that cannot be read is an error.
IMAGE_EXTENSIONS = frozenset(
    (".tif", ".tiff", ".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
)


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


def require_pillow(module):
    """Fail the module, at its start, when Pillow is missing or older than PILLOW_MIN_VERSION."""
    problem = pillow_problem()
    if problem:
        module.fail_json(msg=problem[0], exception=problem[1])


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


def thumbnail(picture, size=(150, 100)):
    """A small JPEG of a JPEG picture (a path or a file object), decoded at reduced size; None when it cannot be
    read."""
    if Image is None:
        return None
    try:
        with Image.open(picture) as image:
            image.draft("RGB", size)  # the JPEG decoder scales down by itself: 1/4 of 600x400
            image = image.convert("RGB")
            image.thumbnail(size)
            buffer = io.BytesIO()
            image.save(buffer, "JPEG", quality=80)
    except OSError:
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


def _stat_key(path):
    stat = os.stat(path)
    return [stat.st_size, stat.st_mtime_ns]


# How much a conversion process yields the CPU: the import uploads while it converts, and the upload's requests,
# one after the other, each wait for a core (theirs and the store's) behind the conversion otherwise.
WORKER_NICENESS = 10
_WORKER_NICED = []


def _yield_the_cpu():
    """Lower the priority of a conversion process, once; never that of the module's own process."""
    if not _WORKER_NICED and multiprocessing.parent_process() is not None:
        os.nice(WORKER_NICENESS)
        _WORKER_NICED.append(True)


def convert_one(job):
    """Worker: convert one source; never raises. job = (source, output, previous sha256, settings, whether to make
    the report's thumbnail of the output too: here, on every core, rather than in the report)."""
    _yield_the_cpu()
    source, output, previous_sha256, settings, with_thumbnail = job
    try:
        data = render_jpeg(source, tuple(settings["size"]), settings["quality"],
                           tuple(settings["background"]), settings["max_pixels"])
        sha256 = hashlib.sha256(data).hexdigest()
        # A touched or re-sent source that renders to the same picture leaves the output alone.
        rewritten = sha256 != previous_sha256 or not os.path.exists(output)
        if rewritten:
            write_atomically(output, data, NEW_FILE_MODE)
        return {"source": source, "output": output, "sha256": sha256, "rewritten": rewritten,
                "source_stat": _stat_key(source), "output_stat": _stat_key(output),
                "thumbnail": thumbnail(io.BytesIO(data)) if with_thumbnail else None}
    except ConversionError as e:
        return {"source": source, "error": str(e)}
    except Exception as e:  # one broken file must not stop the delivery
        return {"source": source, "error": "%s: %s" % (e.__class__.__name__, e)}


class Manifest:
    """What earlier runs converted: source name -> source stat, output name, stat and sha256."""

    def __init__(self, path, settings, warn):
        self.path = path
        self.settings = settings
        self.entries = {}
        data = load_json_state(path, _manifest_problem, warn, "manifest")
        if data and data.get("version") == MANIFEST_VERSION and data.get("settings") == settings:
            self.entries = data["images"]

    def is_current(self, name, source, output):
        entry = self.entries.get(name)
        if not entry or entry["output"] != os.path.basename(output):
            return False
        try:
            return entry.get("source_stat") == _stat_key(source) and entry.get("output_stat") == _stat_key(output)
        except OSError:
            return False

    def previous_sha256(self, name):
        return self.entries.get(name, {}).get("sha256")

    def record(self, name, result):
        self.entries[name] = {"output": os.path.basename(result["output"]), "sha256": result["sha256"],
                              "source_stat": result["source_stat"], "output_stat": result["output_stat"]}

    def save(self):
        data = {"version": MANIFEST_VERSION, "settings": self.settings, "images": self.entries}
        ensure_parent(self.path)
        write_atomically(self.path, json.dumps(data, indent=1, sort_keys=True).encode())


def _manifest_problem(value):
    problem = shape(value, dict, "an object")
    if problem:
        return problem
    images = value.get("images", {})
    if not isinstance(images, dict) or not all(isinstance(entry, dict) and isinstance(entry.get("output"), str)
                                               for entry in images.values()):
        return "its images are not a table of converted images"
    return None


def plan(src, dest, output_extension, manifest):
    """Sort the directory into work to do, work already done, files that are not images and name clashes."""
    to_convert, current, not_images, failed = [], [], [], []
    # One directory read that knows each entry's type (scandir), and whole-directory facts looked up
    # once, not per file: with thousands of files, per-file scans and stats cost seconds on every re-run.
    entries = {entry.name: entry for entry in os.scandir(src) if not entry.name.startswith(".")}
    names = sorted(entries)
    stem_counts = collections.Counter(os.path.splitext(name)[0] for name in names)
    same_directory = os.path.abspath(src) == os.path.abspath(dest)
    real_src = os.path.realpath(src)
    sources_by_output = {}
    for name in names:
        path = os.path.join(src, name)
        stem, extension = os.path.splitext(name)
        if not entries[name].is_file():
            continue
        if extension.lower() not in IMAGE_EXTENSIONS:
            not_images.append({"source": path, "reason": "not an image (extension '%s')" % extension})
            continue
        output = os.path.join(dest, stem + output_extension)
        if same_directory and name.endswith(output_extension) and stem_counts[stem] > 1:
            continue  # 003.jpeg beside 003.tiff in the same directory is our output, not a second source
        sources_by_output.setdefault(output, []).append((name, path))
    for output, sources in sorted(sources_by_output.items()):
        if len(sources) > 1:
            clash = ", ".join(name for name, _path in sources)
            failed.extend({"source": path, "error": "several sources would become %s: %s" % (os.path.basename(output), clash)}
                          for _name, path in sources)
            continue
        name, path = sources[0]
        if entries[name].is_symlink() and _escapes(real_src, path):  # only a link can lead outside
            failed.append({"source": path, "error": "a symbolic link to a file outside %s; refused" % src})
        elif manifest.is_current(name, path, output):
            current.append({"source": path, "output": output})
        else:
            to_convert.append((name, path, output))
    return to_convert, current, not_images, failed


def _escapes(real_dir, path):
    return os.path.commonpath([real_dir, os.path.realpath(path)]) != real_dir


class ProgressLog:
    """Appends a line to a file at every tenth of the work, for `tail -f` during a long conversion."""

    def __init__(self, path, total):
        self.path, self.total, self.done, self.reported = path, total, 0, 0
        self.started = time.monotonic()
        self._write("converting %d images" % total)

    def advance(self):
        self.done += 1
        tenth = self.done * 10 // self.total
        if tenth > self.reported:
            self.reported = tenth
            self._write("%3d%% %d/%d images, %.1f s" % (tenth * 10, self.done, self.total, time.monotonic() - self.started))

    def _write(self, line):
        if self.path:
            ensure_parent(self.path)
            with open_append(self.path) as handle:
                handle.write("%s %s\n" % (time.strftime("%H:%M:%S"), line))


def process_count(workers):
    """How many conversion processes image_workers asks for: 0 means one per core."""
    return workers or os.cpu_count() or 1


def conversion_pool(workers):
    """A pool of `workers` conversion processes that several threads may share (see run); fork it before any thread
    starts. The workers inherit this module as loaded from the module's payload."""
    return multiprocessing.get_context("fork").Pool(processes=workers)


def run(jobs, workers, pool=None, forked=None):
    """Convert jobs on `workers` processes, or on a shared conversion_pool; yield results as they finish, in any
    order. forked(), when given, is called before the first result, once no process is left to fork: from then on
    the caller may start threads."""
    if len(jobs) <= 1 or (pool is None and workers <= 1):
        if forked:
            forked()
        for job in jobs:
            yield convert_one(job)
        return
    processes = min(workers, len(jobs))
    # Jobs go out in chunks: each round trip costs the parent, which shares the cores with the workers,
    # about as much CPU as a tenth of a conversion. Small chunks keep the workers finishing together.
    chunksize = max(1, min(16, len(jobs) // (processes * 8)))
    with contextlib.nullcontext(pool) if pool is not None else conversion_pool(processes) as pool:
        if forked:
            forked()
        yield from pool.imap_unordered(convert_one, jobs, chunksize=chunksize)


def conversion_settings_spec():
    """What a converted image is like (doc fragment fruitstore.catalog._conversion)."""
    return dict(
        size=dict(type="list", elements="int", default=[600, 400]),
        quality=dict(type="int", default=85),
        background=dict(type="str", default="white"),
        max_pixels=dict(type="int", default=100000000),
    )


def conversion_argument_spec():
    """The options of a module that converts one directory (doc fragments _conversion and _conversion_files)."""
    spec = conversion_settings_spec()
    spec.update(dest=dict(type="path"), manifest=dict(type="path"), progress_log=dict(type="path"))
    return spec


def _settings(module):
    params = module.params
    if len(params["size"]) != 2 or min(params["size"]) < 1:
        module.fail_json(msg="size must be two positive numbers, width and height, not %s" % params["size"])
    if not 1 <= params["quality"] <= 95:
        module.fail_json(msg="quality must be between 1 and 95, not %d" % params["quality"])
    try:
        background = parse_colour(params["background"])
    except ConversionError as e:
        module.fail_json(msg="background: %s" % e)
    return {"size": list(params["size"]), "quality": params["quality"], "background": list(background),
            "max_pixels": params["max_pixels"]}


def _check_directories(module, images_dir, dest):
    if not os.path.isdir(images_dir):
        module.fail_json(msg="images_dir %s is not a directory" % images_dir)
    if not os.path.isdir(dest):
        module.fail_json(msg="dest %s is not a directory" % dest)
    if not module.check_mode and not os.access(dest, os.W_OK):
        module.fail_json(msg="dest %s is not writable" % dest)


def convert_directory(module, images_dir, workers, pool=None, follower=None):
    """Convert the images of images_dir as the module's conversion options say (check mode: plan only), on `workers`
    processes or on a shared conversion_pool of that many.

    Returns the result: changed, images (every output, up to date or just written), converted, unchanged,
    not_images, errors (each a source and its cause; the module decides whether they fail it), workers, and
    the diff when asked for. follower, when given, is told the plan (follower.planned(up-to-date outputs, outputs
    to write)), follower.forked() once the conversion's processes are forked, and then each output as soon as it is
    written, with its report thumbnail (follower.converted(output, thumbnail)), under the manifest's lock."""
    params = module.params
    dest = params["dest"] or images_dir
    _check_directories(module, images_dir, dest)
    settings = _settings(module)
    manifest_path = params["manifest"] or os.path.join(dest, ".fruitstore-images.json")
    try:
        with exclusive(manifest_path, check_mode=module.check_mode):
            return _convert(module, images_dir, dest, manifest_path, settings, workers, pool, follower)
    except OSError as e:
        module.fail_json(msg="Cannot convert the images of %s: %s" % (images_dir, e))


def _convert(module, images_dir, dest, manifest_path, settings, workers, pool, follower=None):
    params = module.params
    manifest = Manifest(manifest_path, settings, module.warn)
    to_convert, current, not_images, errors = plan(images_dir, dest, ".jpeg", manifest)
    if follower:
        follower.planned([item["output"] for item in current], [output for _name, _path, output in to_convert])
    workers = process_count(workers)
    converted = [{"source": path, "output": output} for _name, path, output in to_convert]
    outputs = [item["output"] for item in current] + [item["output"] for item in converted]
    changed = bool(to_convert)
    if not module.check_mode and to_convert:
        names = {path: name for name, path, _output in to_convert}
        jobs = [(path, output, manifest.previous_sha256(name), settings, follower is not None)
                for name, path, output in to_convert]
        converted, changed = [], False
        outputs = [item["output"] for item in current]
        progress = ProgressLog(params["progress_log"], len(jobs))
        for result in run(jobs, workers, pool, follower and follower.forked):
            progress.advance()
            if "error" in result:
                errors.append(result)
                continue
            manifest.record(names[result["source"]], result)
            outputs.append(result["output"])
            if follower:
                follower.converted(result["output"], result["thumbnail"])
            changed = changed or result["rewritten"]
            if result["rewritten"]:
                converted.append({"source": result["source"], "output": result["output"]})
        try:
            manifest.save()
        except OSError as e:
            module.fail_json(msg="Cannot write the manifest %s: %s" % (manifest.path, e))
        converted.sort(key=lambda item: item["source"])
        errors.sort(key=lambda item: item["source"])

    outputs.sort()
    result = dict(changed=changed, images=outputs, converted=converted, unchanged=len(current),
                  not_images=not_images, errors=errors, workers=workers)
    if module._diff:
        result["diff"] = {"before": "".join(item["output"] + "\n" for item in current),
                          "after": "".join(path + "\n" for path in outputs),
                          "before_header": "%s (up to date)" % dest, "after_header": "%s (after conversion)" % dest}
    return result
