# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.catalog collection; not a public API.
#
# Turning a directory of a supplier's images into the store's JPEGs: the plan (what is new, changed or already done,
# from a manifest), where each JPEG goes, and the processes that convert. The pixels themselves: _images.py.

from __future__ import annotations

import collections
import contextlib
import dataclasses
import hashlib
import io
import json
import multiprocessing
import os
import time

from ansible_collections.fruitstore.catalog.plugins.module_utils._files import (
    ensure_parent,
    escaping_link,
    exclusive,
    load_json_state,
    open_append,
    shape,
    NEW_FILE_MODE,
    write_atomically,
)
from ansible_collections.fruitstore.catalog.plugins.module_utils._argspec import ArgumentSpec
from ansible_collections.fruitstore.catalog.plugins.module_utils._settings import Failed, SettingsError
from ansible_collections.fruitstore.catalog.plugins.module_utils._images import (
    ConversionError,
    parse_colour,
    render_jpeg,
    thumbnail,
)

MANIFEST_VERSION = 1

# Files suppliers ship beside the pictures; anything else with an image extension that cannot be read is an error.
IMAGE_EXTENSIONS = frozenset(
    (".tif", ".tiff", ".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")
)
OUTPUT_EXTENSION = ".jpeg"


def output_path(dest, name):
    """Where the JPEG of the source file name goes: dest/<its stem>.jpeg."""
    return os.path.join(dest, os.path.splitext(name)[0] + OUTPUT_EXTENSION)


def our_outputs(names):
    """The names, among those of a directory, of our JPEGs beside their sources (003.jpeg beside 003.tiff): outputs
    of an earlier run, not pictures of the supplier's."""
    stems = collections.Counter(os.path.splitext(name)[0] for name in names)
    return {name for name in names if name.endswith(OUTPUT_EXTENSION) and stems[os.path.splitext(name)[0]] > 1}


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


def plan(src, dest, manifest):
    """Sort the directory into work to do, work already done, files that are not images and name clashes."""
    to_convert, current, not_images, failed = [], [], [], []
    # One directory read that knows each entry's type (scandir), and whole-directory facts looked up
    # once, not per file: with thousands of files, per-file scans and stats cost seconds on every re-run.
    entries = {entry.name: entry for entry in os.scandir(src) if not entry.name.startswith(".")}
    names = sorted(entries)
    ours = our_outputs(names) if os.path.abspath(src) == os.path.abspath(dest) else ()
    real_src = os.path.realpath(src)
    sources_by_output = {}
    for name in names:
        path = os.path.join(src, name)
        extension = os.path.splitext(name)[1]
        if not entries[name].is_file():
            continue
        if extension.lower() not in IMAGE_EXTENSIONS:
            not_images.append({"source": path, "reason": "not an image (extension '%s')" % extension})
            continue
        if name in ours:
            continue
        sources_by_output.setdefault(output_path(dest, name), []).append((name, path))
    for output, sources in sorted(sources_by_output.items()):
        if len(sources) > 1:
            clash = ", ".join(name for name, _path in sources)
            failed.extend({"source": path, "error": "several sources would become %s: %s" % (os.path.basename(output), clash)}
                          for _name, path in sources)
            continue
        name, path = sources[0]
        refused = escaping_link(entries[name], src, real_src)
        if refused:
            failed.append(refused)
        elif manifest.is_current(name, path, output):
            current.append({"source": path, "output": output})
        else:
            to_convert.append((name, path, output))
    return to_convert, current, not_images, failed


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


def run_jobs(jobs, workers, pool=None, forked=None):
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
    return ArgumentSpec(dict(
        size=dict(type="list", elements="int", default=[600, 400]),
        quality=dict(type="int", default=85),
        background=dict(type="str", default="white"),
        max_pixels=dict(type="int", default=100000000),
    ))


def conversion_argument_spec():
    """The options of a module that converts one directory (doc fragments _conversion and _conversion_files)."""
    return conversion_settings_spec().merge(dict(dest=dict(type="path"), manifest=dict(type="path"),
                                                 progress_log=dict(type="path")))


class ConversionFailed(Failed):
    """A directory's images cannot be converted at all (a folder missing, the manifest not writable)."""


@dataclasses.dataclass(frozen=True)
class ConversionSettings:
    """What a converted image is like: size (width, height), JPEG quality, the background an image's transparency
    is flattened onto (RGB), and the most pixels a supplier's image may have."""

    size: tuple = (600, 400)
    quality: int = 85
    background: tuple = (255, 255, 255)
    max_pixels: int = 100000000

    @classmethod
    def from_options(cls, options):
        """The settings of a module's options (conversion_settings_spec); raises SettingsError naming the option."""
        if len(options["size"]) != 2 or min(options["size"]) < 1:
            raise SettingsError("size must be two positive numbers, width and height, not %s" % options["size"])
        if not 1 <= options["quality"] <= 95:
            raise SettingsError("quality must be between 1 and 95, not %d" % options["quality"])
        try:
            background = parse_colour(options["background"])
        except ConversionError as e:
            raise SettingsError("background: %s" % e)
        return cls(tuple(options["size"]), options["quality"], tuple(background), options["max_pixels"])

    def recorded(self):
        """The settings as the manifest records them and a conversion process receives them."""
        return {"size": list(self.size), "quality": self.quality, "background": list(self.background),
                "max_pixels": self.max_pixels}


def _check_directories(run, images_dir, dest):
    if not os.path.isdir(images_dir):
        raise ConversionFailed("images_dir %s is not a directory" % images_dir)
    if not os.path.isdir(dest):
        raise ConversionFailed("dest %s is not a directory" % dest)
    if not run.check_mode and not os.access(dest, os.W_OK):
        raise ConversionFailed("dest %s is not writable" % dest)


def convert_directory(run, paths, settings, workers, pool=None, follower=None):
    """Convert the images of paths.images_dir into paths.dest (by default beside them) as settings (a
    ConversionSettings) say, on `workers` processes or on a shared conversion_pool of that many; run: a
    _settings.Run (check mode: plan only).

    Returns the result: changed, images (every output, up to date or just written), converted, unchanged,
    not_images, errors (each a source and its cause; the module decides whether they fail it), workers, and
    the diff when asked for; raises ConversionFailed when the directory cannot be converted at all. follower, when
    given, is told the plan (follower.planned(up-to-date outputs, outputs to write)), follower.forked() once the
    conversion's processes are forked, and then each output as soon as it is written, with its report thumbnail
    (follower.converted(output, thumbnail)), under the manifest's lock."""
    images_dir = paths.images_dir
    dest = paths.dest or images_dir
    _check_directories(run, images_dir, dest)
    manifest_path = paths.manifest or os.path.join(dest, ".fruitstore-images.json")
    try:
        with exclusive(manifest_path, check_mode=run.check_mode):
            return _convert(run, images_dir, dest, manifest_path, paths.progress_log, settings.recorded(), workers,
                            pool, follower)
    except OSError as e:
        raise ConversionFailed("Cannot convert the images of %s: %s" % (images_dir, e))


def _convert(run, images_dir, dest, manifest_path, progress_log, settings, workers, pool, follower=None):
    manifest = Manifest(manifest_path, settings, run.warn)
    to_convert, current, not_images, errors = plan(images_dir, dest, manifest)
    if follower:
        follower.planned([item["output"] for item in current], [output for _name, _path, output in to_convert])
    workers = process_count(workers)
    converted = [{"source": path, "output": output} for _name, path, output in to_convert]
    outputs = [item["output"] for item in current] + [item["output"] for item in converted]
    changed = bool(to_convert)
    if not run.check_mode and to_convert:
        names = {path: name for name, path, _output in to_convert}
        jobs = [(path, output, manifest.previous_sha256(name), settings, follower is not None)
                for name, path, output in to_convert]
        converted, changed = [], False
        outputs = [item["output"] for item in current]
        progress = ProgressLog(progress_log, len(jobs))
        for result in run_jobs(jobs, workers, pool, follower and follower.forked):
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
            raise ConversionFailed("Cannot write the manifest %s: %s" % (manifest.path, e))
        converted.sort(key=lambda item: item["source"])
        errors.sort(key=lambda item: item["source"])

    outputs.sort()
    result = dict(changed=changed, images=outputs, converted=converted, unchanged=len(current),
                  not_images=not_images, errors=errors, workers=workers)
    if run.diff:
        result["diff"] = {"before": "".join(item["output"] + "\n" for item in current),
                          "after": "".join(path + "\n" for path in outputs),
                          "before_header": "%s (up to date)" % dest, "after_header": "%s (after conversion)" % dest}
    return result
