# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.catalog collection; not a public API.

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  report_date:
    description: Date of the supplier's report, C(YYYY-MM-DD); today when not given.
    type: str
    version_added: 1.2.0
"""
