# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.catalog collection; not a public API.

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  dest:
    description:
      - Directory for the JPEGs. Defaults to the directory of the supplier's images, next to the sources. It must exist.
      - A JPEG is written as a new file would be by the user who runs the import, under their umask (mode V(0644) under
        the usual umask V(022)), so that whoever may read the supplier's files may read the pictures too.
    type: path
  manifest:
    description: File that records what was converted. Defaults to C(.fruitstore-images.json) in O(dest).
    type: path
  progress_log:
    description:
      - File to append a line to at every tenth of the conversion, so that a long run can be followed with C(tail -f).
    type: path
"""
