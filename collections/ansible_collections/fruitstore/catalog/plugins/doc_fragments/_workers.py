# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.catalog collection; not a public API.

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  image_workers:
    description:
      - How many processes convert images. V(0) uses every core.
      - They run at a lower priority (C(nice) 10) than the module, so that the upload keeps its pace beside them.
    type: int
    default: 0
  upload_workers:
    description: How many images are uploaded to the store at the same time.
    type: int
    default: 4
"""
