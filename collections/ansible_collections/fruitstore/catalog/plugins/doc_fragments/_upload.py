# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.catalog collection; not a public API.

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  restock:
    description:
      - What to do with a product whose name the store already lists from another delivery (a restock of Apple), since
        the store has no update and its rows are what shoppers see.
      - V(keep) leaves the store's row as it is and posts nothing; the product is reported as C(listed).
      - V(add) posts it as a product of its own, with its own picture; the catalog then shows both.
      - V(refuse) reports it as a conflict, an item left out, for a person to decide.
      - A product of the same delivery that changed after it was imported is always a conflict.
    type: str
    choices: [keep, add, refuse]
    default: keep
    version_added: 1.2.0
"""
