# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.catalog collection; not a public API.

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  size:
    description: Width and height of the output, in pixels. The image is scaled to exactly this size.
    type: list
    elements: int
    default: [600, 400]
  quality:
    description: JPEG quality, 1 to 95.
    type: int
    default: 85
  background:
    description: Colour that transparent parts are composited onto, a name (V(white)) or a hex code (V(#f0f0f0)).
    type: str
    default: white
  max_pixels:
    description: Images with more pixels than this are refused before they are decoded (decompression bomb protection).
    type: int
    default: 100000000
"""
