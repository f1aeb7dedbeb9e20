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
      - File where uploaded images are recorded, per store. Keep it between runs. The directory is created when missing.
    type: path
    default: ~/.local/state/fruitstore/uploads.jsonl
"""
