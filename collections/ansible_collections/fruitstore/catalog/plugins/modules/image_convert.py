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
  - Images are converted on O(image_workers) processes. A file that cannot be converted is reported with its cause and the
    others are still converted. The module then fails, unless O(fail_on_item_errors=false).
extends_documentation_fragment:
  - fruitstore.catalog._conversion
  - fruitstore.catalog._conversion_files
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
  images_dir:
    description:
      - Directory of the supplier's images. The JPEGs are written next to them, unless O(dest) says otherwise.
      - Called C(src) before 1.2.0; that name still works as an alias, deprecated, and goes in 2.0.0.
    type: path
    required: true
    aliases: [src]
    version_added: 1.2.0
  image_workers:
    description:
      - How many processes convert images. V(0) uses every core.
      - They run at a lower priority (C(nice) 10) than the module.
      - Called C(workers) before 1.2.0; that name still works as an alias, deprecated, and goes in 2.0.0.
    type: int
    default: 0
    aliases: [workers]
    version_added: 1.2.0
  fail_on_item_errors:
    description:
      - Fail when any image could not be converted (after the others were converted).
      - Set to V(false) to get the results, including RV(errors), and decide in a later task.
    type: bool
    default: true
requirements:
  - Pillow >= 11.0.0
author:
  - Fruit Store Operations (@fruitstore-ops)
seealso:
  - module: fruitstore.catalog.product_upload
"""

EXAMPLES = r"""
- name: Convert the supplier's images next to them
  fruitstore.catalog.image_convert:
    images_dir: ~/supplier-data/images
  delegate_to: localhost

- name: Convert into another directory, larger, on a grey background
  fruitstore.catalog.image_convert:
    images_dir: /srv/deliveries/acme/images
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
  contains:
    source:
      description: The supplier's image.
      type: str
    output:
      description: Its JPEG.
      type: str
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
  contains:
    source:
      description: The file.
      type: str
    reason:
      description: Why it is not taken for an image.
      type: str
  sample: [{source: /data/images/LICENSE, reason: "not an image (extension '')"}]
errors:
  description: Images that could not be converted, with the cause.
  returned: always
  type: list
  elements: dict
  contains:
    source:
      description: The supplier's image.
      type: str
    error:
      description: Why it could not be converted.
      type: str
  sample: [{source: /data/images/007.tiff, error: "cannot decode: image file is truncated"}]
workers:
  description: Number of processes used.
  returned: always
  type: int
  sample: 2
"""

from ansible_collections.fruitstore.catalog.plugins.module_utils import _conversion as conversion
from ansible_collections.fruitstore.catalog.plugins.module_utils import _images as images
from ansible_collections.fruitstore.catalog.plugins.module_utils._argspec import renamed_from
from ansible_collections.fruitstore.catalog.plugins.module_utils._deps import require
from ansible_collections.fruitstore.catalog.plugins.module_utils._files import displayable
from ansible_collections.fruitstore.catalog.plugins.module_utils._products import errors_message
from ansible_collections.fruitstore.catalog.plugins.module_utils._settings import DeliveryPaths, Failed, Run


def main():
    module = conversion.conversion_argument_spec().merge(dict(
        images_dir=dict(type="path", required=True, **renamed_from("src")),
        image_workers=dict(type="int", default=0, **renamed_from("workers")),
        fail_on_item_errors=dict(type="bool", default=True),
    )).module(supports_check_mode=True)
    params = module.params
    require(module, images.pillow_problem())
    try:
        settings = conversion.ConversionSettings.from_options(params)
        result = conversion.convert_directory(Run.of(module), DeliveryPaths.from_options(params), settings,
                                              params["image_workers"])
    except Failed as e:
        module.fail_json(msg=str(e))
    if result["errors"] and params["fail_on_item_errors"]:
        module.fail_json(msg=errors_message(result["errors"], "images could not be converted"), **displayable(result))
    module.exit_json(**displayable(result))


if __name__ == "__main__":
    main()
