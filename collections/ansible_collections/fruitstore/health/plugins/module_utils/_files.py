# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.health collection; not a public API.
#
# The collection stands alone (a user may install it without fruitstore.catalog), so it writes files with this small
# helper of its own rather than with the catalog's module_utils.

from __future__ import annotations

import os
import tempfile


def write_if_changed(module, path, data, what):
    """Write data to path atomically when it differs from what is there (nothing in check mode); apply the
    common file arguments (mode, owner ...). Returns whether the file changed or would change."""
    try:
        with open(path, "rb") as handle:
            before = handle.read()
    except OSError:
        before = None
    changed = data != before
    if changed and not module.check_mode:
        try:
            handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path) or ".", suffix=".tmp")
            with os.fdopen(handle, "wb") as output:
                output.write(data)
            module.atomic_move(temporary, path)
        except OSError as e:
            module.fail_json(msg="Cannot write the %s %s: %s" % (what, path, e))
    if os.path.exists(path):
        changed = module.set_fs_attributes_if_different(module.load_file_common_arguments(module.params, path=path),
                                                        changed)
    return changed
