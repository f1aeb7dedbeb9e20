#!/usr/bin/python
# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: image_convert
short_description: Convert a supplier's images to the store's JPEGs, on every core, only what changed
version_added: 1.0.0
description:
  - Converts every image of a directory in one call. Each becomes an RGB JPEG of O(size) named C(<stem>.jpeg) in O(dest).
  - Takes TIFF of any mode, compression and size, and the other common formats (PNG, JPEG, BMP, GIF, WebP). Transparency
    is composited onto O(background); 16-bit images are scaled to 8 bits; multi-page files give their first page; the
    EXIF orientation of photos is applied.
  - Files without an image extension, such as the README and LICENSE suppliers ship, are left alone and listed in
    RV(not_images).
  - A manifest (O(manifest)) remembers what earlier runs converted. A run converts only images that are new, whose source
    changed, or whose output is missing or was altered. A source that was touched but renders the same picture leaves its
    output untouched.
  - Images are converted on O(workers) processes. A file that cannot be converted is reported with its cause and the
    others are still converted. The module then fails, unless O(fail_on_item_errors=false).
extends_documentation_fragment:
  - fruitstore.catalog._attributes
attributes:
  check_mode:
    support: full
    details: Reports which images would be converted; writes nothing.
  diff_mode:
    support: full
    details: Lists the output files that would be written.
  idempotent:
    support: full
options:
  src:
    description: Directory of the supplier's images.
    type: path
    required: true
  dest:
    description: Directory for the JPEGs. Defaults to O(src), next to the sources. It must exist.
    type: path
  size:
    description: Width and height of the output, in pixels. The image is scaled to exactly this size.
    type: list
    elements: int
    default: [600, 400]
  quality:
    description: JPEG quality, 1 to 95.
    type: int
    default: 85
  background:
    description: Colour that transparent parts are composited onto, a name (V(white)) or a hex code (V(#f0f0f0)).
    type: str
    default: white
  max_pixels:
    description: Images with more pixels than this are refused before they are decoded (decompression bomb protection).
    type: int
    default: 100000000
  workers:
    description: How many processes convert images. V(0) uses every core.
    type: int
    default: 0
  manifest:
    description: File that records what was converted. Defaults to C(.fruitstore-images.json) in O(dest).
    type: path
  progress_log:
    description:
      - File to append a line to at every tenth of the conversion, so that a long run can be followed with C(tail -f).
    type: path
  fail_on_item_errors:
    description:
      - Fail when any image could not be converted (after the others were converted).
      - Set to V(false) to get the results, including RV(errors), and decide in a later task.
    type: bool
    default: true
requirements:
  - Pillow
author:
  - Fruit Store Operations (@fruitstore-ops)
seealso:
  - module: fruitstore.catalog.product_upload
"""

EXAMPLES = r"""
- name: Convert the supplier's images next to them
  fruitstore.catalog.image_convert:
    src: ~/supplier-data/images
  delegate_to: localhost

- name: Convert into another directory, larger, on a grey background
  fruitstore.catalog.image_convert:
    src: /srv/deliveries/acme/images
    dest: /srv/www/images
    size: [1200, 800]
    quality: 90
    background: "#f0f0f0"
  delegate_to: localhost
  register: conversion
"""

RETURN = r"""
images:
  description: Every output JPEG of the delivery (converted now or before), sorted.
  returned: always
  type: list
  elements: str
  sample: [/data/images/001.jpeg, /data/images/002.jpeg]
converted:
  description: Images converted by this run (in check mode, that would be converted).
  returned: always
  type: list
  elements: dict
  sample: [{source: /data/images/001.tiff, output: /data/images/001.jpeg}]
unchanged:
  description: Number of images whose output was already up to date.
  returned: always
  type: int
  sample: 10
not_images:
  description: Files left alone because they are not images, with the reason.
  returned: always
  type: list
  elements: dict
  sample: [{source: /data/images/LICENSE, reason: "not an image (extension '')"}]
errors:
  description: Images that could not be converted, with the cause.
  returned: always
  type: list
  elements: dict
  sample: [{source: /data/images/007.tiff, error: "cannot decode: image file is truncated"}]
workers:
  description: Number of processes used.
  returned: always
  type: int
  sample: 2
"""

import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.fruitstore.catalog.plugins.module_utils import _images as images


def _settings(module):
    params = module.params
    if len(params["size"]) != 2 or min(params["size"]) < 1:
        module.fail_json(msg="size must be two positive numbers, width and height, not %s" % params["size"])
    if not 1 <= params["quality"] <= 95:
        module.fail_json(msg="quality must be between 1 and 95, not %d" % params["quality"])
    try:
        background = images.parse_colour(params["background"])
    except images.ConversionError as e:
        module.fail_json(msg="background: %s" % e)
    return {"size": list(params["size"]), "quality": params["quality"], "background": list(background),
            "max_pixels": params["max_pixels"]}


def _check_directories(module, src, dest):
    if not os.path.isdir(src):
        module.fail_json(msg="src %s is not a directory" % src)
    if not os.path.isdir(dest):
        module.fail_json(msg="dest %s is not a directory" % dest)
    if not module.check_mode and not os.access(dest, os.W_OK):
        module.fail_json(msg="dest %s is not writable" % dest)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            src=dict(type="path", required=True),
            dest=dict(type="path"),
            size=dict(type="list", elements="int", default=[600, 400]),
            quality=dict(type="int", default=85),
            background=dict(type="str", default="white"),
            max_pixels=dict(type="int", default=100000000),
            workers=dict(type="int", default=0),
            manifest=dict(type="path"),
            progress_log=dict(type="path"),
            fail_on_item_errors=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    if images.PIL_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("Pillow"), exception=images.PIL_IMPORT_ERROR)
    params = module.params
    src = params["src"]
    dest = params["dest"] or src
    _check_directories(module, src, dest)
    settings = _settings(module)
    manifest = images.Manifest(params["manifest"] or os.path.join(dest, ".fruitstore-images.json"), settings)

    to_convert, current, not_images, errors = images.plan(src, dest, ".jpeg", manifest)
    workers = params["workers"] or os.cpu_count() or 1
    converted = [{"source": path, "output": output} for _name, path, output in to_convert]
    outputs = [item["output"] for item in current] + [item["output"] for item in converted]
    changed = bool(to_convert)
    if not module.check_mode and to_convert:
        names = {path: name for name, path, _output in to_convert}
        jobs = [(path, output, manifest.previous_sha256(name), settings) for name, path, output in to_convert]
        converted, changed = [], False
        outputs = [item["output"] for item in current]
        progress = images.ProgressLog(params["progress_log"], len(jobs))
        for result in images.run(jobs, workers):
            progress.advance()
            if "error" in result:
                errors.append(result)
                continue
            manifest.record(names[result["source"]], result)
            outputs.append(result["output"])
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
    if errors and params["fail_on_item_errors"]:
        module.fail_json(msg="%d images could not be converted: %s" % (
            len(errors), "; ".join("%s: %s" % (item["source"], item["error"]) for item in errors)), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
