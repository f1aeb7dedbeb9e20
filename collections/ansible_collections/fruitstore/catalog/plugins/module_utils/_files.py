# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.catalog collection; not a public API.

from __future__ import annotations

import contextlib
import datetime
import errno
import fcntl
import json
import os
import stat
import tempfile
import time

from ansible_collections.fruitstore.catalog.plugins.module_utils._settings import Failed

# Temporary files of write_atomically: hidden, so that no scan of a delivery counts one as a file of the supplier's,
# and removed by the next write when a crash (or a full disk) left one behind.
TEMPORARY_SUFFIX = ".fruitstore-tmp"
STATE_LIMIT = 64 << 20  # a state file is a few kB per product; anything larger is damaged


class StateError(Exception):
    """A state file cannot be read as one: the text says which file and why."""


def displayable(value):
    """value (a result, a message) with every file name that is not UTF-8 (as unzip leaves them) shown with its odd
    bytes escaped (\\xe9), so that it can be printed, sent as JSON and put on a page; other values as they are."""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    if isinstance(value, dict):
        return {displayable(key): displayable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [displayable(item) for item in value]
    return value


def ensure_parent(path):
    """Create the directory of a state file (mode 0700) when it does not exist yet, as on a first run."""
    directory = os.path.dirname(path)
    if directory and not os.path.isdir(directory):
        os.makedirs(directory, 0o700, exist_ok=True)  # another run starting at the same moment may make it first


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
    with open_append(lock_path) as handle:
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


def open_append(path):
    """Open a state file (log, journal, lock) to append to, never through a symbolic link: a link planted there would
    have our writes land outside the delivery."""
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise OSError(e.errno, "%s is a symbolic link; the import writes its state only into files of its own"
                          % path)
        raise
    return os.fdopen(descriptor, "a")


def _new_file_mode():
    """The mode open() gives a new file under this process's umask (0644 under the usual 022). Read once, at import,
    before any thread runs: reading the umask means setting it for a moment."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


NEW_FILE_MODE = _new_file_mode()


def write_atomically(path, data, mode=None):
    """Write bytes through a hidden temporary file renamed over path: readers never see half a file, a link at path is
    replaced rather than written through, and a failed write leaves nothing behind.

    mode: the file's permissions, NEW_FILE_MODE for a file people read (a picture); by default 0600, the import's own
    state."""
    directory, name = os.path.split(path)
    directory = directory or "."
    for leftover in _leftovers(directory, name):
        with contextlib.suppress(OSError):
            os.remove(os.path.join(directory, leftover))
    handle, temporary = tempfile.mkstemp(dir=directory, prefix="." + name + ".", suffix=TEMPORARY_SUFFIX)
    try:
        with os.fdopen(handle, "wb") as output:
            if mode is not None:
                os.fchmod(output.fileno(), mode)
            output.write(data)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise


def _leftovers(directory, name):
    prefix = "." + name + "."
    try:
        return [entry for entry in os.listdir(directory) if entry.startswith(prefix) and entry.endswith(TEMPORARY_SUFFIX)]
    except OSError:
        return []


def read_state(path):
    """The bytes of a state file, None when there is none; StateError when it is a link, not a file, or too large."""
    try:
        descriptor = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except FileNotFoundError:
        return None
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise StateError("it is a symbolic link")
        raise StateError(e.strerror or str(e))
    with os.fdopen(descriptor, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise StateError("it is not a regular file")
        data = handle.read(STATE_LIMIT + 1)
    if len(data) > STATE_LIMIT:
        raise StateError("it is over %d MB" % (STATE_LIMIT >> 20))
    return data


def set_aside(path, moment=None):
    """Rename a damaged state file out of the way, kept for a person to read, as <name>.damaged-<UTC time> (a free
    name); returns its new name. moment: the time to name it by (seconds since the epoch; by default now)."""
    stamp = datetime.datetime.fromtimestamp(time.time() if moment is None else moment, datetime.timezone.utc)
    base = aside = "%s.damaged-%s" % (path, stamp.strftime("%Y%m%dT%H%M%SZ"))
    number = 1
    while os.path.lexists(aside):
        number += 1
        aside = "%s-%d" % (base, number)
    os.rename(path, aside)
    return aside


def read_json_state(path, check):
    """The JSON value of a state file, None when there is none; StateError saying why when it is damaged (not JSON,
    cut short, binary, null, a link, or of the wrong shape: check(value) returns None when the value has the right
    shape, else why not)."""
    data = read_state(path)
    if data is None:
        return None
    try:
        value = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise StateError("it is not UTF-8 text")
    except ValueError as e:
        raise StateError("it is not valid JSON (%s)" % e)
    problem = check(value)
    if problem:
        raise StateError(problem)
    return value


def load_json_state(path, check, warn, what):
    """The JSON value of a state file (read_json_state), or None when there is none or it is damaged: a damaged file
    is named in a warning, set aside and treated as absent, and the caller rebuilds it from what the store and the
    disk say."""
    try:
        return read_json_state(path, check)
    except StateError as e:
        try:
            aside = "set aside as %s" % set_aside(path)
        except OSError as error:
            aside = "and cannot be set aside (%s); it is ignored" % error
        warn("The %s %s is damaged: %s; %s, and rebuilt from what the store and the disk say." % (what, path, e, aside))
        return None


def shape(value, kind, description):
    """None when value is of kind, else the sentence load_json_state names the damage with."""
    if isinstance(value, kind):
        return None
    return "it holds %s, not %s" % ("null" if value is None else type(value).__name__, description)


def escaping_link(entry, directory, real_directory):
    """The refusal ({source, error}) of entry, an os.DirEntry of directory, when it is a symbolic link that leads out of
    it: nothing outside a delivery is read. None otherwise. real_directory: the directory's real path, looked up once
    by the caller rather than for every file."""
    if entry.is_symlink() and os.path.commonpath([real_directory, os.path.realpath(entry.path)]) != real_directory:
        return {"source": entry.path, "error": "a symbolic link to a file outside %s; refused" % directory}
    return None


def read_bytes(path):
    """The file's bytes, or None when there is no such file."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return None


def write_if_changed(run, path, data, what, before=None, preview=False):
    """Write data to path atomically when it differs from what is there, then apply the module's common file
    arguments (mode, owner ...); run: a _settings.Run. In check mode nothing is written, unless preview: a file that
    previews the import (the delivery's page) is written in check mode too. Returns whether the file changed or
    would change; raises Failed naming the file (what) and the cause."""
    if before is None:
        before = read_bytes(path)
    changed = data != before
    if changed and (preview or not run.check_mode):
        try:
            handle, temporary = tempfile.mkstemp(dir=os.path.dirname(path) or ".", suffix=".tmp")
            with os.fdopen(handle, "wb") as output:
                output.write(data)
            run.move(temporary, path)
        except OSError as e:
            raise Failed("Cannot write the %s %s: %s" % (what, path, e))
    if os.path.exists(path):
        changed = run.file_attributes(path, changed)
    return changed


def write_json_if_changed(run, path, value, what):
    """Write value as JSON for machines (a run's summary) to path, with its directory, when it differs; nothing in
    check mode. Returns whether it changed (would change); raises Failed naming the file (what) and the cause."""
    data = (json.dumps(value, indent=2, sort_keys=True) + "\n").encode()
    if read_bytes(path) == data:
        return False
    if not run.check_mode:
        try:
            ensure_parent(path)
            write_atomically(path, data)
        except OSError as e:
            raise Failed("Cannot write the %s %s: %s" % (what, path, e))
    return True
