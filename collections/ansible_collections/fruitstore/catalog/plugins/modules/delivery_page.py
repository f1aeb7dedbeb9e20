#!/usr/bin/python
# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: delivery_page
short_description: Write a supplier delivery as one HTML page, picture beside description
version_added: 1.0.0
description:
  - Writes a static HTML page that shows each product of a delivery, its picture beside its name, weight and
    description, and where it stands, in the store, or refused and why; in a preview, new (would be posted) or
    already in the store.
  - Takes the RV(fruitstore.catalog.product_upload#module:products) of an upload, or of a check-mode upload to preview
    an import before it runs (O(preview=true)). Pictures are linked relative to the page.
  - The file is only written, and the task only C(changed), when the page is different.
extends_documentation_fragment:
  - fruitstore.catalog._products.page
  - fruitstore.catalog._attributes
  - ansible.builtin.files
attributes:
  check_mode:
    support: full
    details: Tells whether the page would change; writes nothing. Run the task with C(check_mode=false) to write a preview.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  path:
    description: Where the page is written. The directory must exist.
    type: path
    required: true
  title:
    description: Title of the page.
    type: str
    default: Supplier delivery
  products:
    description:
      - The products, as RV(fruitstore.catalog.product_upload#module:products) returns them. Each needs its C(source)
        and its C(action); a product that could not be read has no more.
    type: list
    elements: dict
    required: true
  preview:
    description: Say on the page that nothing has been posted yet (for a page written from a check-mode upload).
    type: bool
    default: false
author:
  - Fruit Store Operations (@fruitstore-ops)
seealso:
  - module: fruitstore.catalog.product_upload
"""

EXAMPLES = r"""
- name: Preview an import as a page, even in check mode
  fruitstore.catalog.delivery_page:
    path: ~/supplier-data/delivery.html
    products: "{{ upload.products }}"
    preview: "{{ ansible_check_mode }}"
  check_mode: false
  delegate_to: localhost
"""

RETURN = r"""
path:
  description: Path of the page.
  returned: always
  type: str
  sample: /home/ops/supplier-data/delivery.html
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.fruitstore.catalog.plugins.module_utils import _delivery_page as page
from ansible_collections.fruitstore.catalog.plugins.module_utils._files import write_if_changed
from ansible_collections.fruitstore.catalog.plugins.module_utils._products import product_options
from ansible_collections.fruitstore.catalog.plugins.module_utils._settings import Failed, Run


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            title=dict(type="str", default="Supplier delivery"),
            products=dict(type="list", elements="dict", required=True, options=product_options("source", "action")),
            preview=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
        add_file_common_args=True,
    )
    path = module.params["path"]
    data = to_bytes(page.render(path, module.params["title"], module.params["products"], module.params["preview"]))
    try:
        changed = write_if_changed(Run.of(module), path, data, "delivery page")
    except Failed as e:
        module.fail_json(msg=str(e))
    module.exit_json(changed=changed, path=path)


if __name__ == "__main__":
    main()
