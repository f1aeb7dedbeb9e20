# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.catalog collection; not a public API.

from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import time


def ensure_parent(path):
    """Create the directory of a state file (mode 0700) when it does not exist yet, as on a first run."""
    directory = os.path.dirname(path)
    if directory and not os.path.isdir(directory):
        os.makedirs(directory, 0o700)


@contextlib.contextmanager
def exclusive(path, timeout=600, check_mode=False, holder="another import of this delivery"):
    """Hold the lock file path + '.lock' (created with its directory when missing) for the block.

    Two imports of the same delivery must not interleave: a playbook killed in the middle leaves its module
    running to the end (Ansible runs modules in a session of their own), and a re-run started meanwhile would
    post what the first one is about to post. The lock is released when the holder exits, even killed.
    In check mode, which only reads, nothing is locked and no lock file is created. holder names, in the error
    raised after timeout seconds, who else holds the lock."""
    if check_mode:
        yield
        return
    lock_path = path + ".lock"
    ensure_parent(lock_path)
    with open(lock_path, "a") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise OSError("%s has held %s for over %d s" % (holder, lock_path, timeout))
                time.sleep(0.1)
        yield


def write_atomically(path, data):
    """Write bytes through a temporary file renamed over path: readers never see half a file."""
    temporary = "%s.tmp%d" % (path, os.getpid())
    with open(temporary, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)


def read_bytes(path):
    """The file's bytes, or None when there is no such file."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def write_if_changed(module, path, data, what, before=None):
    """Write data to path atomically when it differs from what is there (nothing in check mode); apply the
    common file arguments (mode, owner ...). Returns whether the file changed or would change."""
    if before is None:
        before = read_bytes(path)
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
