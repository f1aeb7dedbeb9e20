# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.catalog collection; not a public API.
#
# A supplier's inbox: which deliveries wait there, which of them are complete (the supplier has finished uploading),
# and moving an imported one to the archive without ever losing or half-moving it.

from __future__ import annotations

import datetime
import os
import time

from ansible_collections.fruitstore.catalog.plugins.module_utils._conversion import our_outputs
from ansible_collections.fruitstore.catalog.plugins.module_utils._files import (
    StateError,
    ensure_parent,
    read_state,
    write_atomically,
)
from ansible_collections.fruitstore.catalog.plugins.module_utils._settings import Failed

# What the import itself writes into a delivery: never a sign that the supplier is still uploading.
OUR_FILES = (".fruitstore", "delivery.html", "processed.pdf")
STATE = ".fruitstore"  # the import's state in a delivery
IDENTITY = "delivery-id"  # in STATE: the delivery's name in the store
# Left in a flat inbox while its delivery is being moved to the archive: the next run finishes the move.
ARCHIVING = ".fruitstore-archiving"
PARTS = ("images", "descriptions")


class InboxError(Failed):
    """The inbox or the archive cannot be used; the text says which and why."""


class Delivery:
    """One delivery of an inbox: a sub-folder with images/ and descriptions/, or the inbox itself (flat layout)."""

    def __init__(self, path, name, flat):
        self.path = path
        self.name = name
        self.flat = flat
        self.oldest = self.newest = None
        self.files = 0
        self.refused = _links(path, flat)  # why it is not imported at all, or None

    def _supplier_files(self):
        """lstat() of each of the supplier's files (not ours) in images/ and descriptions/."""
        for part in PARTS:
            directory = os.path.join(self.path, part)
            try:
                entries = [entry for entry in os.scandir(directory) if not entry.name.startswith(".")]
            except OSError:
                continue
            ours = our_outputs([entry.name for entry in entries]) if part == "images" else ()
            for entry in entries:
                if entry.name in ours:
                    continue
                try:
                    yield entry.stat(follow_symlinks=False)
                except OSError:
                    continue  # removed meanwhile

    def scan(self):
        """The times of the supplier's files (not ours): when the upload began and when it last changed."""
        if self.refused:
            return self
        times = [status.st_mtime for status in self._supplier_files()]
        self.files = len(times)
        if times:
            self.oldest, self.newest = min(times), max(times)
        return self

    def readiness(self, now, settle_seconds, ready_marker):
        """None when the delivery is complete, else why it waits."""
        missing = [part for part in PARTS if not os.path.isdir(os.path.join(self.path, part))]
        if missing:
            return "incomplete: no %s/ yet" % " and no ".join(missing)
        if not self.files:
            return "empty: no files yet"
        if ready_marker:
            if not os.path.lexists(os.path.join(self.path, ready_marker)):
                return "waiting for the supplier's %s" % ready_marker
            return None
        quiet = now - self.newest
        if quiet < settle_seconds:
            return "still being uploaded: changed %d s ago, taken once unchanged for %d s" % (quiet, settle_seconds)
        return None

    def arrived_since(self, moment):
        """Whether a file of the supplier's arrived or changed in the delivery since moment, going by the change time
        the file system keeps (ctime), which copying tools cannot set back as they set the modification time."""
        return any(status.st_ctime >= moment for status in self._supplier_files())

    def received(self):
        """When the supplier finished uploading (its newest file), as a date for people."""
        return datetime.datetime.fromtimestamp(self.newest or time.time()).strftime("%B %d, %Y").replace(" 0", " ")


def _links(path, flat):
    """Why a delivery at path is refused because its folder (a sub-folder of the inbox, not a flat inbox itself), its
    images/ or its descriptions/ is a symbolic link: nothing out of the inbox is read, and a link inside it would
    import the same files twice. None when none is."""
    folders = [] if flat else [(path, "the delivery's folder")]
    for where, shown in folders + [(os.path.join(path, part), part + "/") for part in PARTS]:
        if os.path.islink(where):
            return ("%s is a symbolic link (to %s); refused: move the files themselves into the inbox"
                    % (shown, os.readlink(where)))
    return None


def _flat_name(oldest):
    """A flat inbox's delivery is named by when its upload began: every new delivery there gets a name of its own."""
    return "received-" + datetime.datetime.fromtimestamp(oldest, datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def _is_delivery(path):
    return any(os.path.isdir(os.path.join(path, part)) for part in PARTS)


def find(inbox, archive):
    """The deliveries waiting in the inbox, oldest first (by when each last changed), each scanned.

    Finishes first a flat delivery's move to the archive that a killed run left half done."""
    if not os.path.isdir(inbox):
        raise InboxError("inbox %s is not a directory" % inbox)
    resume_archiving(inbox, archive)
    if _is_delivery(inbox):
        delivery = Delivery(inbox, None, flat=True).scan()
        delivery.name = _flat_name(delivery.oldest or time.time())
        return [delivery]
    found = []
    with os.scandir(inbox) as entries:
        for entry in entries:
            if entry.name.startswith(".") or not entry.is_dir():
                continue
            found.append(Delivery(entry.path, entry.name, flat=False).scan())
    return sorted(found, key=lambda delivery: (delivery.newest or float("inf"), delivery.name))


def _free(path):
    candidate, number = path, 1
    while os.path.lexists(candidate):
        number += 1
        candidate = "%s-%d" % (path, number)
    return candidate


def identity(delivery, supplier, archive, check_mode=False):
    """The delivery's name in the store (its delivery_id): decided when it is first imported and kept in its state
    (IDENTITY), so that it never changes while it waits or moves. supplier/name, or supplier/name#2, #3 ... when a
    delivery of that name was imported before (a supplier who always uploads into current/): each is a delivery of
    its own. A delivery that an earlier release began to import (its state there, no IDENTITY) keeps supplier/name."""
    state = os.path.join(delivery.path, STATE)
    recorded = _read_identity(delivery.path)
    if recorded:
        return recorded
    chosen = base = "%s/%s" % (supplier, delivery.name)
    if not os.path.isdir(state):
        used, number = _archived_identities(archive, supplier), 1
        while chosen in used:
            number += 1
            chosen = "%s#%d" % (base, number)
    if not check_mode:
        try:
            ensure_parent(os.path.join(state, IDENTITY))
            write_atomically(os.path.join(state, IDENTITY), chosen.encode("utf-8", "surrogateescape"))
        except OSError as e:
            raise InboxError("Cannot record the identity of %s: %s" % (delivery.path, e))
    return chosen


def _read_identity(path):
    try:
        data = read_state(os.path.join(path, STATE, IDENTITY))
    except StateError:
        return None
    return data.decode("utf-8", "surrogateescape").strip() if data else None


def _archived_identities(archive, supplier):
    """The identities of the deliveries in the archive (those archived by releases before 1.3.0: supplier/folder)."""
    found = set()
    try:
        entries = list(os.scandir(archive))
    except OSError:
        return found
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            found.add(_read_identity(entry.path) or "%s/%s" % (supplier, entry.name))
    return found


def archive_delivery(delivery, archive):
    """Move an imported delivery to the archive, with its page, report and state; returns where it went.

    A sub-folder moves with one rename, so it is either in the inbox or in the archive. A flat inbox's parts move
    one by one behind a marker that names the target, so that a killed run's successor finishes the move."""
    try:
        os.makedirs(archive, exist_ok=True)
        target = _free(os.path.join(archive, delivery.name))
        if not delivery.flat:
            os.rename(delivery.path, target)
            return target
        marker = os.path.join(delivery.path, ARCHIVING)
        with open(marker, "w") as handle:
            handle.write(target)
        os.mkdir(target)
        _move_parts(delivery.path, target)
        os.remove(marker)
        return target
    except OSError as e:
        if getattr(e, "errno", None) == 18:  # EXDEV
            raise InboxError("the archive %s must be on the same file system as the inbox %s" % (archive,
                                                                                                 delivery.path))
        raise InboxError("Cannot move %s to the archive %s: %s" % (delivery.path, archive, e))


def _move_parts(inbox, target):
    for name in sorted(os.listdir(inbox)):
        if name != ARCHIVING:
            os.rename(os.path.join(inbox, name), os.path.join(target, name))


def resume_archiving(inbox, archive):
    marker = os.path.join(inbox, ARCHIVING)
    try:
        with open(marker) as handle:
            target = handle.read()
    except OSError:
        return
    if os.path.dirname(os.path.abspath(target)) != os.path.abspath(archive):
        raise InboxError("%s names %s, which is not in the archive %s; move it by hand" % (marker, target, archive))
    try:
        os.makedirs(target, exist_ok=True)
        _move_parts(inbox, target)
        os.remove(marker)
    except OSError as e:
        raise InboxError("Cannot finish moving %s to the archive %s: %s" % (inbox, target, e))
