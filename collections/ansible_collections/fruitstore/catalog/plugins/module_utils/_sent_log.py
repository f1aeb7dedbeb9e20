# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.catalog collection; not a public API.
#
# Mail sent once: a run holds the lock of the mail's record while it decides, sends and records, so that two runs
# take turns and the second finds the mail recorded. A mail is recorded only once the relay took it: a failed send
# leaves nothing recorded and the next run tries again. Every module that mails goes through send_and_record; those
# that send a message once per key (the supplier's report) through SentLog.send_once.

from __future__ import annotations

import json

from ansible_collections.fruitstore.catalog.plugins.module_utils import _smtp as smtp
from ansible_collections.fruitstore.catalog.plugins.module_utils._files import (
    ensure_parent,
    exclusive,
    load_json_state,
    shape,
    write_atomically,
)
from ansible_collections.fruitstore.catalog.plugins.module_utils._settings import Failed


class NotSent(Failed):
    """The relay did not take the mail; nothing was recorded."""


class NotRecorded(Failed):
    """The mail went out, but its record could not be written."""


def send_and_record(run, relay, message, record, what, record_path):
    """Send message through relay (an smtp.SMTPSettings), then record() it (which writes record_path); nothing in
    check mode. Returns the recipients the relay took (None in check mode); raises NotSent or NotRecorded naming the
    mail (what), its recipients or its record, and the cause."""
    if run.check_mode:
        return None
    try:
        recipients = smtp.send(relay, message)
    except smtp.MailError as e:
        raise NotSent("The %s to %s was not sent: %s. Nothing was recorded; the next run tries again."
                      % (what, message["To"], e))
    try:
        record()
    except OSError as e:
        raise NotRecorded("The %s was sent, but recording it in %s failed: %s; the next run sends it again."
                          % (what, record_path, e))
    return recipients


class SentLog:
    """Keys of the messages already sent, with their Message-IDs, in a small JSON file."""

    def __init__(self, path, warn):
        self.path = path
        warnings = []
        self.keys = load_json_state(path, _problem, lambda text: warnings.append(text) or warn(text),
                                    "sent-mail record") or {}
        self.damaged = bool(warnings)  # whether a mail went out cannot be told any more

    def __contains__(self, key):
        return key in self.keys

    def add(self, key, message_id):
        self.keys[key] = message_id
        ensure_parent(self.path)
        write_atomically(self.path, json.dumps(self.keys, indent=1, sort_keys=True).encode())

    @classmethod
    def send_once(cls, run, path, key, relay, message, what, force=False, unsure_sends=True, earlier_keys=()):
        """Send message unless the record at path holds key (or force), and record it; two runs take turns.

        unsure_sends: whether to send when the record was damaged, so that whether the mail went out cannot be
        told. earlier_keys: keys an earlier release recorded the same message under; one found is recorded under key
        too, once. Returns dict(sent, reason, message_id, recipients) (sent: would be sent, in check mode); raises
        NotSent or NotRecorded."""
        with exclusive(path, check_mode=run.check_mode):
            log = cls(path, run.warn)
            known = next((known for known in (key, *earlier_keys) if known in log), None)
            if known and not force:
                if known != key and not run.check_mode:
                    try:
                        log.add(key, log.keys[known])
                    except OSError as e:
                        run.warn("Cannot record the %s under its new key in %s: %s" % (what, path, e))
                return dict(sent=False, reason="already sent", message_id=log.keys[known], recipients=None)
            if log.damaged and not unsure_sends:
                return dict(sent=False, reason="not sent again: the sent-mail record was damaged, so whether it "
                                               "went out cannot be told", message_id=None, recipients=None)
            message_id = message["Message-ID"]
            recipients = send_and_record(run, relay, message, lambda: log.add(key, message_id), what, path)
            return dict(sent=True, reason="sent", message_id=message_id, recipients=recipients)


def _problem(value):
    problem = shape(value, dict, "an object")
    if problem:
        return problem
    if not all(isinstance(key, str) and isinstance(message_id, str) for key, message_id in value.items()):
        return "its entries are not message keys and Message-IDs"
    return None
