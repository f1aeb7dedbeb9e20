#!/usr/bin/python
# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: delivery_import
short_description: Convert a supplier delivery's images and bring its products into the store, in one call
version_added: 1.1.0
description:
  - Does what M(fruitstore.catalog.image_convert) and then M(fruitstore.catalog.product_upload) do, in one module
    call. The converted images go straight to the upload instead of through Ansible, and the delivery is read, converted,
    looked up in the store and uploaded by one process.
  - A re-run with nothing new then costs one module start instead of two, which is why the supplier import role uses
    this module. Use the two modules when the images are converted on another host than the one that talks to the store.
  - Converts the images of O(images_dir) on O(image_workers) processes, only those that are new or changed (see
    O(manifest)). Each becomes an RGB JPEG of O(size), C(<stem>.jpeg).
  - Then reads every description of O(descriptions_dir), pairs it with its JPEG by file stem, and brings into the store
    what it does not have yet. One C(GET fruits/) tells what the store has; each product is known there by its
    picture's name (see O(delivery_id)), so deliveries numbered alike never meet. A new product is posted (image
    first); a product of this delivery that changed since it was imported is a conflict and never posted, because the
    store has no update; a product whose name the store lists from another delivery follows O(restock).
  - A product already in the store whose picture the store lost (its C(/media/) answers 404) gets its picture uploaded
    again under its own name. A store that does not serve C(/media/) cannot show that, and its pictures are trusted.
  - An image that cannot be converted, a description that cannot be read, a product the store refuses and a conflict
    are reported with their file and cause, and the rest is still imported. The module then fails, unless
    O(fail_on_item_errors=false). A re-run picks up exactly what is missing.
  - Two imports with the same O(manifest) or O(journal) never interleave; the second waits for the first, up to ten
    minutes. This matters when a playbook is killed, because Ansible leaves its module running to the end.
extends_documentation_fragment:
  - fruitstore.catalog._conversion
  - fruitstore.catalog._upload
  - fruitstore.catalog._store
  - fruitstore.catalog._attributes
attributes:
  check_mode:
    support: full
    details: Reports which images would be converted and which products would be posted; writes nothing, sends no POST.
  diff_mode:
    support: full
    details: Lists the images that would be written and the products that would be added to the store.
  idempotent:
    support: full
options:
  images_dir:
    description: Directory of the supplier's images. The JPEGs are written next to them, unless O(dest) says otherwise.
    type: path
    required: true
  image_workers:
    description: How many processes convert images. V(0) uses every core.
    type: int
    default: 0
  upload_workers:
    description: How many images are uploaded to the store at the same time.
    type: int
    default: 4
  return_products:
    description:
      - When to return RV(products), the whole delivery.
      - V(changed) returns it only from a run that converted or uploaded something (in check mode, that would).
        A caller that renders the delivery only after a change needs no more, and a re-run with nothing new then does
        not send thousands of products through Ansible.
    type: str
    choices: [always, changed]
    default: always
  fail_on_item_errors:
    description:
      - Fail when any image, description or product could not be imported, conflicts included (after the others were
        imported).
      - Set to V(false) to get the results, including RV(errors), and decide in a later task.
    type: bool
    default: true
requirements:
  - Pillow
  - requests
author:
  - Fruit Store Operations (@fruitstore-ops)
seealso:
  - module: fruitstore.catalog.image_convert
  - module: fruitstore.catalog.product_upload
  - module: fruitstore.catalog.delivery_page
  - module: fruitstore.catalog.report_pdf
"""

EXAMPLES = r"""
- name: Import a supplier delivery into the store
  fruitstore.catalog.delivery_import:
    images_dir: ~/supplier-data/images
    descriptions_dir: ~/supplier-data/descriptions
    manifest: ~/supplier-data/.fruitstore/images.json
    journal: ~/supplier-data/.fruitstore/uploads.jsonl
    store_url: http://localhost/
  register: delivery

- name: Import, and decide in a later task what to do about the items that could not be imported
  fruitstore.catalog.delivery_import:
    images_dir: /srv/deliveries/acme/images
    descriptions_dir: /srv/deliveries/acme/descriptions
    store_url: https://store.example.com/
    api_token: "{{ vault_store_token }}"
    fail_on_item_errors: false
  register: delivery

- name: Import, returning the products only when something changed (nothing else to render otherwise)
  fruitstore.catalog.delivery_import:
    images_dir: ~/supplier-data/images
    descriptions_dir: ~/supplier-data/descriptions
    store_url: http://localhost/
    return_products: changed
  register: delivery
"""

RETURN = r"""
conversion:
  description: What was done with the images.
  returned: always
  type: dict
  contains:
    converted:
      description: The images converted by this run (in check mode, that would be converted), source and output.
      type: list
      elements: dict
      sample: [{source: /data/images/001.tiff, output: /data/images/001.jpeg}]
    unchanged:
      description: Number of images whose JPEG was already up to date.
      type: int
      sample: 9
    not_images:
      description: Files left alone because they are not images, with the reason.
      type: list
      elements: dict
      sample: [{source: /data/images/LICENSE, reason: "not an image (extension '')"}]
    errors:
      description: Images that could not be converted, with the cause.
      type: list
      elements: dict
      sample: [{source: /data/images/007.tiff, error: "cannot decode: image file is truncated"}]
    workers:
      description: Number of processes that converted images.
      type: int
      sample: 2
products:
  description:
    - One entry per product of the delivery, in file order, with what was done (C(action)) create, present, listed,
      conflict or failed, and why (C(error), or C(note) for listed); C(picture_restored) when its lost picture was
      uploaded again. A description that could not be read has only C(source), C(action) and C(error).
    - The products in the store after the import are those with the action create or present.
  returned: always, unless O(return_products=changed) and nothing changed
  type: list
  elements: dict
  sample:
    - {name: Apple, weight: 500, description: Crisp., image_name: 001-5f1c9a0b2e.jpeg, image: /data/images/001.jpeg,
       source: /data/descriptions/001.txt, action: create}
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
listed:
  description:
    - Products whose name the store already lists from another delivery, kept as the store has them
      (O(restock=keep)); not posted, with a C(note) saying what the store lists.
  returned: always
  type: list
  elements: dict
  sample: [{name: Apple, source: /data/descriptions/001.txt, note: "the store already lists 'Apple' (500 lbs, ...)"}]
pictures_restored:
  description:
    - Image names of products already in the store whose picture the store had lost (its C(/media/) answered 404),
      uploaded again under the same name by this run (in check mode, that would be).
  returned: always
  type: list
  elements: str
  sample: [003-5f1c9a0b2e.jpeg]
journal_posted:
  description:
    - How many of the delivery's products O(journal) records as posted into this store from this host, by this run or
      an earlier one. A report owed for them can be sent even when the run that posted them was cut short; when the
      journal was lost it is 0 and nothing is reported again.
  returned: always
  type: int
  sample: 10
delivery_id:
  description: The delivery's identity in the store, O(delivery_id) or its default.
  returned: always
  type: str
  sample: /srv/deliveries/acme/2026-11-20
errors:
  description:
    - Every item that could not be imported, with its file and the cause, images and descriptions alike. A product whose
      image failed is listed twice, with the image and with its description.
  returned: always
  type: list
  elements: dict
  sample: [{source: /data/images/007.tiff, error: "cannot decode: image file is truncated"}]
total_weight:
  description: Sum of the weights of the delivery's products in the store, in lbs.
  returned: always
  type: int
  sample: 2790
fingerprint:
  description: SHA-256 of the names and weights of the delivery's products in the store, the same for the same outcome.
  returned: always
  type: str
  sample: 9f2c0e0b5d1f3a7c8e4b6d2a1f0c9e8d7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e
posts:
  description: Number of POST requests sent to the store.
  returned: always
  type: int
  sample: 20
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.fruitstore.catalog.plugins.module_utils import _catalog_sync as sync
from ansible_collections.fruitstore.catalog.plugins.module_utils import _images as images
from ansible_collections.fruitstore.catalog.plugins.module_utils._products import errors_message
from ansible_collections.fruitstore.catalog.plugins.module_utils._store_api import REQUESTS_IMPORT_ERROR


def main():
    argument_spec = dict(
        images_dir=dict(type="path", required=True),
        image_workers=dict(type="int", default=0),
        upload_workers=dict(type="int", default=4),
        return_products=dict(type="str", choices=["always", "changed"], default="always"),
        fail_on_item_errors=dict(type="bool", default=True),
    )
    argument_spec.update(images.conversion_argument_spec())
    argument_spec.update(sync.upload_argument_spec())
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_together=[("url_username", "url_password")])
    if images.PIL_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("Pillow"), exception=images.PIL_IMPORT_ERROR)
    if REQUESTS_IMPORT_ERROR:
        module.fail_json(msg=missing_required_lib("requests"), exception=REQUESTS_IMPORT_ERROR)
    params = module.params

    conversion = images.convert_directory(module, params["images_dir"], params["image_workers"])
    result = sync.upload_delivery(module, conversion.pop("images"), params["upload_workers"])
    del result["in_store"]  # in RV(products); not sent through Ansible twice
    diffs = [diff for diff in (conversion.pop("diff", None), result.pop("diff", None)) if diff]
    result.update(changed=conversion.pop("changed") or result["changed"], conversion=conversion,
                  errors=conversion["errors"] + result["errors"])
    if diffs:
        result["diff"] = diffs
    if params["return_products"] == "changed" and not result["changed"]:
        del result["products"]
    left_out = result["errors"] + result["conflicts"]
    if left_out and params["fail_on_item_errors"]:
        module.fail_json(msg=errors_message(left_out, "items of the delivery could not be imported"), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
