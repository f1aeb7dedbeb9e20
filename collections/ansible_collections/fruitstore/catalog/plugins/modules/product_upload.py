#!/usr/bin/python
# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: product_upload
short_description: Upload a supplier's products and their images to the fruit store
version_added: 1.0.0
description:
  - Reads every product description of a supplier delivery (three lines, name, weight such as C(500 lbs), description),
    pairs it with its converted image, and brings into the store what it does not have yet.
  - Looks before it posts. One C(GET fruits/) tells what the store has; each product is known there by its picture's
    name (see O(delivery_id)). A product already there with the same data is left alone; one of this delivery that
    changed since it was imported is reported as a conflict and never posted, because the store has no update and
    every POST adds a row; one whose name the store lists from another delivery follows O(restock).
  - Images are uploaded with C(POST upload/) before their products with C(POST fruits/). A product whose picture the
    store lost (its C(/media/) answers 404) gets it uploaded again under its own name. A local journal (O(journal))
    bridges an import cut short between an image and its product. Two uploads with the same journal never
    interleave; the second waits for the first, up to ten minutes.
  - A description that cannot be read, a product the store refuses and a conflict are reported with their file and
    cause. The other products are still uploaded. The module then fails, unless O(fail_on_item_errors=false).
  - Runs on the control node, where Python has C(requests).
extends_documentation_fragment:
  - fruitstore.catalog._upload
  - fruitstore.catalog._upload_files
  - fruitstore.catalog._store
  - fruitstore.catalog._attributes
attributes:
  check_mode:
    support: full
    details: Reads the store and reports what would be uploaded; sends no POST.
  diff_mode:
    support: full
    details: Shows the products that would be added to the store.
  idempotent:
    support: full
options:
  images:
    description:
      - The converted images, C(<stem>.jpeg), as RV(fruitstore.catalog.image_convert#module:images) returns them.
        An image belongs to the description with the same file stem.
      - In check mode the files need not exist yet, so a whole import can be previewed.
      - Exactly one of O(images) and O(converted_dir) is required.
    type: list
    elements: path
  converted_dir:
    description:
      - Directory of the converted images, the JPEGs (O(fruitstore.catalog.image_convert#module:dest) of the
        conversion); its C(*.jpeg) files are used as O(images). Not the supplier's images, which the other modules
        call C(images_dir), although it is the same directory when the JPEGs are written next to them.
      - Called C(images_dir) before 1.2.0; that name still works as an alias, deprecated, and goes in 2.0.0.
    type: path
    aliases: [images_dir]
    version_added: 1.2.0
  upload_workers:
    description:
      - How many images are uploaded to the store at the same time.
      - Called C(workers) before 1.2.0; that name still works as an alias, deprecated, and goes in 2.0.0.
    type: int
    default: 4
    aliases: [workers]
    version_added: 1.2.0
  fail_on_item_errors:
    description:
      - Fail when any product could not be read or uploaded, conflicts included (after the others were uploaded).
      - Set to V(false) to get the results, including RV(errors), and decide in a later task.
    type: bool
    default: true
requirements:
  - requests
author:
  - Fruit Store Operations (@fruitstore-ops)
seealso:
  - module: fruitstore.catalog.image_convert
  - module: fruitstore.catalog.report_pdf
"""

EXAMPLES = r"""
- name: Upload the delivery to the store
  fruitstore.catalog.product_upload:
    store_url: http://localhost/
    descriptions_dir: ~/supplier-data/descriptions
    converted_dir: ~/supplier-data/images
  delegate_to: localhost
  register: upload

- name: Upload what a conversion produced
  fruitstore.catalog.product_upload:
    store_url: http://localhost/
    descriptions_dir: ~/supplier-data/descriptions
    images: "{{ conversion.images }}"
  delegate_to: localhost

- name: Upload to a store behind HTTPS with a token kept in a vault
  fruitstore.catalog.product_upload:
    store_url: https://store.example.com/
    api_token: "{{ vault_store_token }}"
    ca_path: /etc/ssl/certs/store-ca.pem
    descriptions_dir: /srv/deliveries/acme/descriptions
    converted_dir: /srv/www/images
    fail_on_item_errors: false
  delegate_to: localhost
  register: upload
"""

RETURN = r"""
products:
  description:
    - One entry per product of the delivery, in file order, with what was done (C(action)) create, present, listed,
      conflict or failed, and why (C(error), or C(note) for listed); C(picture_restored) when its lost picture was
      uploaded again. A description that could not be read has only C(source), C(action) and C(error).
  returned: always
  type: list
  elements: dict
  contains:  # the keys RV(fruitstore.catalog.delivery_import#module:products) describes
    name: {description: The product's name; missing when its description could not be read., type: str}
    weight: {description: Its weight in lbs., type: int}
    description: {description: Its description., type: str}
    image_name: {description: The name of its picture in the store (see O(delivery_id))., type: str}
    image: {description: Its picture from O(images) or O(converted_dir)., type: str}
    source: {description: Its description file (its image when the description is missing)., type: str}
    action: {description: "What was done: V(create), V(present), V(listed), V(conflict), V(failed).", type: str}
    error: {description: "Why it was left out (V(conflict), V(failed)).", type: str}
    note: {description: What the store lists under its name (V(listed))., type: str}
    picture_restored: {description: True when its lost picture was uploaded again (only then present)., type: bool}
  sample:
    - {name: Apple, weight: 500, description: Crisp., image_name: 001-5f1c9a0b2e.jpeg, image: /data/images/001.jpeg,
       source: /data/descriptions/001.txt, action: create}
    - {source: /data/descriptions/006.txt, action: failed, error: "weight 'five hundred' is not a number of lbs"}
created:
  description: Names of the products posted to the store (in check mode, that would be posted).
  returned: always
  type: list
  elements: str
  sample: [Apple, Avocado]
present:
  description: Names of the products the store already had.
  returned: always
  type: list
  elements: str
conflicts:
  description:
    - Products left out because the store cannot take them as they are, with the cause; not posted. A product of this
      delivery that changed after it was imported, or (with O(restock=refuse)) one whose name the store lists from
      another delivery.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The product's name.
      type: str
    source:
      description: Its description file.
      type: str
    error:
      description: Why the store cannot take it.
      type: str
  sample: [{name: Apple, source: /data/descriptions/001.txt, error: the store already has 'Apple' as weight 450 lbs ...}]
listed:
  description: As RV(fruitstore.catalog.delivery_import#module:listed) (O(restock=keep)).
  returned: always
  type: list
  elements: dict
  contains:  # as RV(fruitstore.catalog.delivery_import#module:listed)
    name: {description: The product's name., type: str}
    source: {description: Its description file., type: str}
    note: {description: What the store lists under its name., type: str}
pictures_restored:
  description: As RV(fruitstore.catalog.delivery_import#module:pictures_restored), lost pictures uploaded again.
  returned: always
  type: list
  elements: str
journal_posted:
  description: As RV(fruitstore.catalog.delivery_import#module:journal_posted), products O(journal) records as posted.
  returned: always
  type: int
delivery_id:
  description: The delivery's identity in the store, O(delivery_id) or its default.
  returned: always
  type: str
errors:
  description: Descriptions or products that could not be read or uploaded, with the cause.
  returned: always
  type: list
  elements: dict
  contains:
    source:
      description: The description file, or the image.
      type: str
    name:
      description: The product's name, when its description could be read.
      type: str
    error:
      description: The cause.
      type: str
  sample: [{source: /data/descriptions/006.txt, error: "weight 'five hundred' is not a number of lbs like '500 lbs'"}]
in_store:
  description:
    - Name, weight and local picture (C(image)) of every product of the delivery that is in the store now (created,
      present or listed), for M(fruitstore.catalog.report_pdf).
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The product's name.
      type: str
    weight:
      description: Its weight in lbs.
      type: int
    image:
      description: Its picture on this host, the JPEG.
      type: str
  sample: [{name: Apple, weight: 500, image: /data/images/001.jpeg}]
total_weight:
  description: Sum of the weights of the products this delivery brought into the store (created or present, not listed), in lbs.
  returned: always
  type: int
  sample: 2790
fingerprint:
  description:
    - SHA-256 of the names and weights in RV(in_store). Two runs that leave the same products of the delivery in the
      store have the same fingerprint, so that a report or a mail about them can be sent once (see
      M(fruitstore.catalog.report_mail)'s O(fruitstore.catalog.report_mail#module:once_key)).
  returned: always
  type: str
  sample: 9f2c0e0b5d1f3a7c8e4b6d2a1f0c9e8d7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e
posts:
  description: Number of POST requests sent to the store.
  returned: always
  type: int
  sample: 20
"""

import os

from ansible_collections.fruitstore.catalog.plugins.module_utils import _catalog_sync as sync
from ansible_collections.fruitstore.catalog.plugins.module_utils._argspec import renamed_from
from ansible_collections.fruitstore.catalog.plugins.module_utils._deps import require
from ansible_collections.fruitstore.catalog.plugins.module_utils._files import displayable
from ansible_collections.fruitstore.catalog.plugins.module_utils._products import errors_message, files_by_stem
from ansible_collections.fruitstore.catalog.plugins.module_utils._settings import DeliveryPaths, Failed, Run
from ansible_collections.fruitstore.catalog.plugins.module_utils._store_api import StoreSettings, requests_problem


def main():
    module = sync.upload_argument_spec().merge(dict(
        images=dict(type="list", elements="path"),
        # Its old name, images_dir, means the supplier's images in the other modules: an alias for one release.
        converted_dir=dict(type="path", **renamed_from("images_dir")),
        upload_workers=dict(type="int", default=4, **renamed_from("workers")),
        fail_on_item_errors=dict(type="bool", default=True),
    )).module(supports_check_mode=True, required_one_of=[("images", "converted_dir")],
              mutually_exclusive=[("images", "converted_dir")])
    require(module, requests_problem())
    params = module.params
    images = params["images"]
    if images is None:
        if not os.path.isdir(params["converted_dir"]):
            module.fail_json(msg="converted_dir %s is not a directory" % params["converted_dir"])
        images = files_by_stem(params["converted_dir"], ".jpeg")[0].values()
    try:
        result = sync.upload_delivery(Run.of(module), DeliveryPaths.from_options(params),
                                      StoreSettings.from_options(params), images, params["upload_workers"],
                                      params["restock"])
    except Failed as e:
        module.fail_json(msg=str(e))
    left_out = result["errors"] + result["conflicts"]
    if left_out and params["fail_on_item_errors"]:
        module.fail_json(msg=errors_message(left_out, "products could not be imported"), **displayable(result))
    module.exit_json(**displayable(result))


if __name__ == "__main__":
    main()
