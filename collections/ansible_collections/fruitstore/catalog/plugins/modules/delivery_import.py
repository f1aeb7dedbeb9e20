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
  - With O(page_path), O(report_path) and O(mail), it also writes the delivery's page and the supplier's report and
    mails the report once, in the same call (what M(fruitstore.catalog.delivery_page),
    M(fruitstore.catalog.report_pdf) and M(fruitstore.catalog.report_mail) do), so that a whole import costs one
    module start.
  - The report mail (O(mail)) goes out, with the report attached as C(processed.pdf), once the whole delivery is in the
    store, once per outcome of an import into a store (recorded in O(sent_log); two runs take turns on the record). It
    is owed once products of the delivery were posted from this host (the upload journal says so, even when that run
    was killed); a run that finds the delivery in the store and no journal (deleted, another control node) does not
    send it again. Its body states the number of products and the total weight this delivery brought into the store.
extends_documentation_fragment:
  - fruitstore.catalog._conversion
  - fruitstore.catalog._conversion_files
  - fruitstore.catalog._upload
  - fruitstore.catalog._upload_files
  - fruitstore.catalog._store
  - fruitstore.catalog._publish
  - fruitstore.catalog._workers
  - fruitstore.catalog._mail
  - fruitstore.catalog._attributes
attributes:
  check_mode:
    support: full
    details:
      - Reports which images would be converted, which products would be posted and whether the report would be mailed;
        sends no POST and no mail.
      - Writes one file on purpose, the page at O(page_path), marked as a preview; it is how a person looks at an import
        before it runs. The next real run writes the page again.
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
  return_products:
    description:
      - When to return RV(products), the whole delivery.
      - V(changed) returns it only from a run that converted or uploaded something (in check mode, that would).
        A caller that renders the delivery only after a change needs no more, and a re-run with nothing new then does
        not send thousands of products through Ansible.
      - V(never) for a caller that has the module write the page and the report itself (O(page_path),
        O(report_path)) and needs only the counts and the items left out.
    type: str
    choices: [always, changed, never]
    default: always
  page_path:
    description:
      - Write the delivery as one HTML page there, each product's picture beside its name, weight and description, and
        what the import did to it (see M(fruitstore.catalog.delivery_page)). Written when it differs.
    type: path
    version_added: 1.2.0
  page_title:
    description: Title of the page.
    type: str
    default: Supplier delivery
    version_added: 1.2.0
  report_path:
    description:
      - Write the supplier's PDF report there (see M(fruitstore.catalog.report_pdf)), the products this delivery brought
        into the store and their total weight, then those the store already listed. Rendered only when what it is made
        of changed. Needed for O(mail).
    type: path
    version_added: 1.2.0
  report_heading:
    description: A line under the report's title saying whose delivery it is, for example the supplier and the delivery.
    type: str
    version_added: 1.2.0
  sent_log:
    description: The delivery's sent-mail record (see O(mail)). The directory is created when missing.
    type: path
    default: ~/.local/state/fruitstore/sent-mail.json
    version_added: 1.2.0
  fail_on_item_errors:
    description:
      - Fail when any image, description or product could not be imported, conflicts included (after the others were
        imported), or when the report mail could not be sent.
      - Set to V(false) to get the results, including RV(errors), and decide in a later task.
    type: bool
    default: true
requirements:
  - Pillow >= 11.0.0
  - requests
author:
  - Fruit Store Operations (@fruitstore-ops)
seealso:
  - module: fruitstore.catalog.image_convert
  - module: fruitstore.catalog.product_upload
  - module: fruitstore.catalog.delivery_page
  - module: fruitstore.catalog.report_pdf
  - module: fruitstore.catalog.report_mail
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

- name: Import, write the page and the report, and mail the report to the supplier once, in one call
  fruitstore.catalog.delivery_import:
    images_dir: /srv/deliveries/acme/images
    descriptions_dir: /srv/deliveries/acme/descriptions
    manifest: /srv/deliveries/acme/.fruitstore/images.json
    journal: /srv/deliveries/acme/.fruitstore/uploads.jsonl
    store_url: http://localhost/
    page_path: /srv/deliveries/acme/delivery.html
    report_path: /srv/deliveries/acme/processed.pdf
    sent_log: /srv/deliveries/acme/.fruitstore/sent-mail.json
    mail:
      to: [orders@acme.example]
      host: smtp.example.com
      port: 587
      security: starttls
      username: automation@example.com
      password: "{{ vault_smtp_password }}"
    return_products: changed

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
      contains:  # as RV(fruitstore.catalog.image_convert#module:converted)
        source: {description: The supplier's image., type: str}
        output: {description: Its JPEG., type: str}
      sample: [{source: /data/images/001.tiff, output: /data/images/001.jpeg}]
    unchanged:
      description: Number of images whose JPEG was already up to date.
      type: int
      sample: 9
    not_images:
      description: Files left alone because they are not images, with the reason.
      type: list
      elements: dict
      contains:  # as RV(fruitstore.catalog.image_convert#module:not_images)
        source: {description: The file., type: str}
        reason: {description: Why it is not taken for an image., type: str}
      sample: [{source: /data/images/LICENSE, reason: "not an image (extension '')"}]
    errors:
      description: Images that could not be converted, with the cause.
      type: list
      elements: dict
      contains:  # as RV(fruitstore.catalog.image_convert#module:errors)
        source: {description: The supplier's image., type: str}
        error: {description: Why it could not be converted., type: str}
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
  returned: always, unless O(return_products=never), or O(return_products=changed) and nothing changed
  type: list
  elements: dict
  contains:
    name:
      description: The product's name, from its description; missing when that could not be read.
      type: str
    weight:
      description: Its weight in lbs.
      type: int
    description:
      description: Its description.
      type: str
    image_name:
      description: The name of its picture in the store, its file stem and a token of O(delivery_id).
      type: str
    image:
      description: Its converted picture, the JPEG (in check mode, where it would be written).
      type: str
    source:
      description: Its description file (its image, for an image without a description).
      type: str
    action:
      description: What was done with it, V(create), V(present), V(listed), V(conflict) or V(failed).
      type: str
    error:
      description: Why it was left out, for V(conflict) and V(failed).
      type: str
    note:
      description: What the store lists under its name, for V(listed).
      type: str
    picture_restored:
      description: Present and true when its picture, which the store had lost, was uploaded again.
      type: bool
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
  contains:
    name: {description: The product's name., type: str}
    source: {description: Its description file., type: str}
    error: {description: Why the store cannot take it., type: str}
listed:
  description:
    - Products whose name the store already lists from another delivery, kept as the store has them
      (O(restock=keep)); not posted, with a C(note) saying what the store lists.
  returned: always
  type: list
  elements: dict
  contains:
    name: {description: The product's name., type: str}
    source: {description: Its description file., type: str}
    note: {description: What the store lists under that name., type: str}
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
  contains:
    source: {description: "The file, an image or a description.", type: str}
    name: {description: "The product's name, when its description could be read.", type: str}
    error: {description: The cause., type: str}
  sample: [{source: /data/images/007.tiff, error: "cannot decode: image file is truncated"}]
total_weight:
  description: Sum of the weights of the products this delivery brought into the store (created or present, not listed), in lbs.
  returned: always
  type: int
  sample: 2790
fingerprint:
  description: SHA-256 of the names and weights of the delivery's products in the store, the same for the same outcome.
  returned: always
  type: str
  sample: 9f2c0e0b5d1f3a7c8e4b6d2a1f0c9e8d7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e
page:
  description: The page written (O(page_path)), and whether it changed; null without O(page_path).
  returned: always
  type: dict
  contains:
    path:
      description: Where the page is.
      type: str
    changed:
      description: Whether this run wrote it (in check mode, a preview).
      type: bool
report:
  description: The report (O(report_path)), and whether it changed; null without O(report_path).
  returned: always
  type: dict
  contains:
    path:
      description: Where the report is.
      type: str
    changed:
      description: Whether this run rendered it again (in check mode, would).
      type: bool
mail:
  description: What became of the report mail.
  returned: always
  type: dict
  contains:
    sent:
      description: Whether this run sent it (in check mode, would send it).
      type: bool
    reason:
      description: Why it was or was not sent, for a person, for example V(already sent).
      type: str
    error:
      description: Why it could not be sent, when it could not; the next run tries again.
      type: str
    to:
      description: The recipients, when a mail was due.
      type: list
      elements: str
    key:
      description: The key of the mail in O(sent_log), when a mail was due.
      type: str
  sample: {sent: true, reason: sent, to: [orders@acme.example], key: 5d41402abc4b2a76b9719d911017c592}
posts:
  description: Number of POST requests sent to the store.
  returned: always
  type: int
  sample: 20
"""

from ansible_collections.fruitstore.catalog.plugins.module_utils import _catalog_sync as sync
from ansible_collections.fruitstore.catalog.plugins.module_utils import _conversion as conversion
from ansible_collections.fruitstore.catalog.plugins.module_utils import _delivery as delivery
from ansible_collections.fruitstore.catalog.plugins.module_utils import _images as images
from ansible_collections.fruitstore.catalog.plugins.module_utils._deps import require
from ansible_collections.fruitstore.catalog.plugins.module_utils._files import displayable
from ansible_collections.fruitstore.catalog.plugins.module_utils._products import errors_message
from ansible_collections.fruitstore.catalog.plugins.module_utils._report import reportlab_problem
from ansible_collections.fruitstore.catalog.plugins.module_utils._settings import DeliveryPaths, Failed, Run
from ansible_collections.fruitstore.catalog.plugins.module_utils._store_api import requests_problem


def main():
    options = dict(
        images_dir=dict(type="path", required=True),
        page_path=dict(type="path"),
        page_title=dict(type="str", default="Supplier delivery"),
        report_path=dict(type="path"),
        report_heading=dict(type="str"),
        sent_log=dict(type="path", default="~/.local/state/fruitstore/sent-mail.json"),
        return_products=dict(type="str", choices=["always", "changed", "never"], default="always"),
        fail_on_item_errors=dict(type="bool", default=True),
    )
    spec = sync.upload_argument_spec().merge(conversion.conversion_argument_spec()).merge(
        delivery.publish_argument_spec()).merge(delivery.workers_argument_spec())
    module = spec.merge(options).module(supports_check_mode=True, required_by={"mail": "report_path"})
    params = module.params
    require(module, images.pillow_problem(), requests_problem(), params["report_path"] and reportlab_problem())
    try:
        settings = delivery.ImportSettings.from_options(params)
        result = delivery.import_delivery(Run.of(module), DeliveryPaths.from_options(params), settings)
    except Failed as e:
        module.fail_json(msg=str(e), **e.result)
    del result["in_store"]  # in RV(products); not sent through Ansible twice
    if params["return_products"] == "never" or (params["return_products"] == "changed" and not result["changed"]):
        del result["products"]
    left_out = result["errors"] + result["conflicts"]
    if params["fail_on_item_errors"]:
        if left_out:
            module.fail_json(msg=errors_message(left_out, "items of the delivery could not be imported"),
                             **displayable(result))
        if result["mail"].get("error"):
            module.fail_json(msg=displayable(result["mail"]["error"]), **displayable(result))
    module.exit_json(**displayable(result))


if __name__ == "__main__":
    main()
