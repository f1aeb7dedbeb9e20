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


class WriteError(Exception):
    """A file could not be written; the text names it and the cause."""


def write_if_changed(path, data, what, check_mode=False, move=os.replace):
    """Write data to path atomically when it differs from what is there (nothing in check mode), through a
    temporary file that move(temporary, path) puts in place (the module's atomic_move). Returns whether the file
    changed or would change; raises WriteError naming the file (what) and the cause."""
    try:
        with open(path, "rb") as handle:
            before = handle.read()
    except OSError:
        before = None
    changed = data != before
    if changed and not check_mode:
        try:
            handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path) or ".", suffix=".tmp")
            with os.fdopen(handle, "wb") as output:
                output.write(data)
            move(temporary, path)
        except OSError as e:
            raise WriteError("Cannot write the %s %s: %s" % (what, path, e))
    return changed
