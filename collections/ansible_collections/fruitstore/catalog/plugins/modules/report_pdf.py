#!/usr/bin/python
# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: report_pdf
short_description: Render the supplier's PDF report of an import
version_added: 1.0.0
description:
  - Renders a PDF titled C(Processed Update on <date>), then a table of the products, each with a small picture, its
    C(name) and its C(weight) in lbs, then the total weight, with ReportLab.
  - The same products, pictures and date give the same bytes, so the file is only written, and the task only
    C(changed), when the report is different. The PDF records a fingerprint of what it was made of; when that
    matches, the report is not even rendered again.
extends_documentation_fragment:
  - fruitstore.catalog._products.report
  - fruitstore.catalog._attributes
  - ansible.builtin.files
attributes:
  check_mode:
    support: full
    details: Renders the report in memory and tells whether the file would change; writes nothing.
  diff_mode:
    support: partial
    details: Shows the report's text lines before and after, not the PDF bytes.
  idempotent:
    support: full
    details: Not idempotent across days when O(date) is left to default to today.
options:
  path:
    description: Where the PDF is written. The directory must exist.
    type: path
    default: /tmp/processed.pdf
  products:
    description:
      - The products to list, each with C(name), C(weight) (lbs) and optionally C(image), the path of its picture,
        as RV(fruitstore.catalog.product_upload#module:in_store) returns them.
      - A product whose picture does not exist (yet) is listed without one. The other keys of a product that
        M(fruitstore.catalog.product_upload) returns are accepted and not used.
    type: list
    elements: dict
    required: true
  date:
    description: Date of the report as C(YYYY-MM-DD). Defaults to today on the control node.
    type: str
requirements:
  - reportlab
author:
  - Fruit Store Operations (@fruitstore-ops)
seealso:
  - module: fruitstore.catalog.product_upload
  - module: fruitstore.catalog.report_mail
"""

EXAMPLES = r"""
- name: Render the report of the products now in the store
  fruitstore.catalog.report_pdf:
    path: /tmp/processed.pdf
    products: "{{ upload.in_store }}"
  delegate_to: localhost

- name: Render a report for a given day
  fruitstore.catalog.report_pdf:
    path: /srv/reports/acme-2026-11-22.pdf
    date: "2026-11-22"
    products:
      - {name: Apple, weight: 500, image: /srv/deliveries/acme/images/001.jpeg}
      - {name: Avocado, weight: 200}
    mode: "0644"
  delegate_to: localhost
"""

RETURN = r"""
path:
  description: Path of the PDF.
  returned: always
  type: str
  sample: /tmp/processed.pdf
title:
  description: Title of the report.
  returned: always
  type: str
  sample: Processed Update on November 22, 2026
total_weight:
  description: Sum of the products' weights, in lbs.
  returned: always
  type: int
  sample: 2790
size:
  description: Size of the PDF in bytes.
  returned: always
  type: int
  sample: 2388
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.fruitstore.catalog.plugins.module_utils import _report as report
from ansible_collections.fruitstore.catalog.plugins.module_utils._deps import require
from ansible_collections.fruitstore.catalog.plugins.module_utils._files import read_bytes, write_if_changed
from ansible_collections.fruitstore.catalog.plugins.module_utils._products import product_options
from ansible_collections.fruitstore.catalog.plugins.module_utils._settings import Failed, Run


def _text(title, products):
    return "%s\n" % title + "".join("name: %s, weight: %d lbs\n" % (p["name"], p["weight"]) for p in products)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default="/tmp/processed.pdf"),
            products=dict(type="list", elements="dict", required=True, options=product_options("name", "weight")),
            date=dict(type="str"),
        ),
        supports_check_mode=True,
        add_file_common_args=True,
    )
    require(module, report.reportlab_problem())
    path = module.params["path"]
    products = [{key: product[key] for key in ("name", "weight", "image")} for product in module.params["products"]]
    try:
        title = report.TITLE_FORMAT.format(date=report.parse_date(module.params["date"]))
    except ValueError:
        module.fail_json(msg="date must be YYYY-MM-DD, not '%s'" % module.params["date"])
    if not os.path.isdir(os.path.dirname(path) or "."):
        module.fail_json(msg="Cannot write the report %s: its directory does not exist" % path)

    key = report.fingerprint(title, products)
    before = read_bytes(path)
    if before is not None and key.encode() in before:
        data = before  # made of the same products, pictures and date: nothing to render
    else:
        data = report.render(title, products, key)
    try:
        changed = write_if_changed(Run.of(module), path, data, "report", before)
    except Failed as e:
        module.fail_json(msg=str(e))

    result = dict(changed=changed, path=path, title=title, size=len(data),
                  total_weight=sum(p["weight"] for p in products))
    if module._diff:
        result["diff"] = {"before": "" if before is None else "(a PDF of %d bytes)\n" % len(before),
                          "after": _text(title, products), "before_header": path, "after_header": path}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
