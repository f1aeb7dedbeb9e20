# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.catalog collection; not a public API.

from __future__ import annotations


class ModuleDocFragment:
    # The suboptions of the option products of delivery_page and report_pdf: a product as product_upload and
    # delivery_import return it (module_utils/_products.py product_options). The module documents the option itself
    # and takes the variant that says which keys it needs: fruitstore.catalog._products.page or .report.
    DOCUMENTATION = r"""
options:
  products:
    suboptions:
      name:
        type: str
        description: The product's name.
      weight:
        type: int
        description: Its weight, in lbs.
      description:
        type: str
        description: Its description.
      image_name:
        type: str
        description: The name of its picture in the store, its file stem and a token of the delivery.
      image:
        type: path
        description: Its converted picture, the JPEG. It need not exist (yet).
      source:
        type: path
        description: Its description file (its image, for an image without a description).
      action:
        type: str
        choices: [create, present, listed, conflict, failed]
        description:
          - What the import did with it. V(create) posted it (in check mode, would post it), V(present) found it in
            the store, V(listed) found its name listed there from another delivery and kept that row, V(conflict) left
            it out for a person, V(failed) could not import it.
      error:
        type: str
        description: Why it was left out, for a conflict or a failure.
      note:
        type: str
        description: What the store lists under its name, for V(listed).
      picture_restored:
        type: bool
        description: Its picture, which the store had lost, was uploaded again.
"""


def _requiring(*keys):
    """The suboptions with these keys required (each key's first line after its name is its type)."""
    text = ModuleDocFragment.DOCUMENTATION
    for key in keys:
        line = "      %s:\n" % key
        start = text.index(line) + len(line)
        end = text.index("\n", start) + 1
        text = text[:end] + "        required: true\n" + text[end:]
    return text


# Derived here, after the class, so that the suboptions are written once (sanity's yamllint reads the literal above);
# validate-modules compares each module's result with its argument spec.
ModuleDocFragment.PAGE = _requiring("source", "action")
ModuleDocFragment.REPORT = _requiring("name", "weight")
