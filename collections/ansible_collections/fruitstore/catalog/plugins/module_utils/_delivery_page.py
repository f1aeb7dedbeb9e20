# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.catalog collection; not a public API.
#
# The delivery as one static HTML page: each product's picture beside its name, weight and
# description, with what the import did to it.

from __future__ import annotations

import base64
import os
from html import escape as _escape
from urllib.parse import quote

from ansible_collections.fruitstore.catalog.plugins.module_utils import _images as images
from ansible_collections.fruitstore.catalog.plugins.module_utils._files import displayable

# action -> (label, css class). After a real run created and present products are alike in the store, so
# that a re-run writes the same page; a preview tells them apart (PREVIEW).
STATUS = {
    "create": ("in the store, brought by this delivery", "present"),
    "present": ("in the store, brought by this delivery", "present"),
    "listed": ("already in the store from another delivery, not posted", "present"),
    "conflict": ("not posted", "refused"),
    "failed": ("failed", "refused"),
}
PREVIEW = {"create": ("new, would be posted", "new"), "present": ("already in the store", "present")}

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 60rem; color: #222; }
h1 { margin-bottom: .2rem; } p.summary { color: #555; margin-top: 0; }
article { display: flex; gap: 1.2rem; padding: 1rem 0; border-bottom: 1px solid #ddd; }
article img, article .nopicture { width: 300px; height: 200px; object-fit: cover; border-radius: 6px; flex: none; }
.nopicture { background: #eee; color: #777; display: flex; align-items: center; justify-content: center; }
h2 { margin: 0 0 .3rem 0; font-size: 1.2rem; } .weight { font-weight: bold; margin: 0 0 .5rem 0; }
.status { display: inline-block; padding: .1rem .5rem; border-radius: 1rem; font-size: .85rem; }
.new { background: #d7f5dd; } .present { background: #e3e8f5; } .refused { background: #fbdcdc; }
.why { color: #a11; }
"""


def escape(text):
    return _escape(displayable(text))


def _picture(page_dir, product):
    image = product.get("image")
    if image and os.path.exists(image):
        # A file name is a URL path here: '#' or '?' in it must not end the path.
        return '<img src="%s" alt="">' % escape(quote(os.fsencode(os.path.relpath(image, page_dir))))
    preview = _preview(product.get("source_image"))
    if preview:
        return '<img src="data:image/jpeg;base64,%s" alt="">' % preview
    return '<div class="nopicture">picture not converted yet</div>'


def _preview(source):
    """A small JPEG of the supplier's image, in the page itself: a check-mode preview writes no picture anywhere."""
    data = images.thumbnail(source, (300, 200), quality=70) if source else None
    return base64.b64encode(data).decode("ascii") if data else None


def _status(product, preview):
    return (PREVIEW if preview else STATUS).get(product["action"]) or STATUS[product["action"]]


def _article(page_dir, product, preview):
    label, css = _status(product, preview)
    why = '<p class="why">%s</p>' % escape(product["error"]) if product.get("error") else ""
    if product.get("note"):
        why += "<p>%s</p>" % escape(product["note"])
    weight = "%s lbs" % product["weight"] if product.get("weight") is not None else ""
    return ('<article>%s<div><h2>%s</h2><p class="weight">%s</p><p>%s</p>'
            '<span class="status %s">%s</span>%s<p><small>%s</small></p></div></article>'
            % (_picture(page_dir, product), escape(product.get("name") or os.path.basename(product["source"])),
               escape(weight), escape(product.get("description") or ""), css, escape(label), why,
               escape(os.path.relpath(product["source"], page_dir))))


def render(path, title, products, preview=False):
    """The page as text. products: dicts with action, source and name, weight, description, image, error."""
    page_dir = os.path.dirname(os.path.abspath(path))
    counts = {}
    for product in products:
        label = _status(product, preview)[0]
        counts[label] = counts.get(label, 0) + 1
    summary = ", ".join("%d %s" % (count, label) for label, count in sorted(counts.items()))
    if preview:
        summary += " (a preview: nothing has been posted)"
    body = "\n".join(_article(page_dir, product, preview) for product in products)
    return ('<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>%s</title>'
            '<style>%s</style></head>\n<body><h1>%s</h1><p class="summary">%s</p>\n%s\n</body></html>\n'
            % (escape(title), STYLE, escape(title), escape(summary), body))
