# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.catalog collection; not a public API.

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  descriptions_dir:
    description: Directory of the description files, C(<stem>.txt).
    type: path
    required: true
  journal:
    description:
      - File where an uploaded image is recorded until its product is posted, per store, so that a run cut short
        between the two is finished without uploading the image again. The directory is created when missing.
      - It is a cache. The store's own list of products says what is there; losing the journal posts nothing twice.
    type: path
    default: ~/.local/state/fruitstore/uploads.jsonl
  delivery_id:
    description:
      - What identifies this delivery in the store, whoever delivered it and whatever its files are numbered.
      - Every product's picture is stored under its file stem and a token of O(delivery_id) and the stem, for example
        C(003-5f1c9a0b2e.jpeg). Deliveries numbered alike never share a picture, and a later run of the same delivery,
        on any host and without any local state, finds its products in the store by that name and posts nothing twice.
      - Defaults to the delivery's directory (the parent of O(descriptions_dir)) as an absolute path. Set it when the
        same delivery may be imported from another path, for example V(acme/2026-11-20).
    type: str
    version_added: 1.2.0
"""
