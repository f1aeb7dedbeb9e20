# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.catalog collection; not a public API.
#
# The operations team told once (the import_alert module): the problems of a run, each with a key that is stable from
# one run to the next, against a small JSON state of the problems already mailed. A problem is mailed when it appears,
# again when it has lasted the reminder time since its last mail, and once when it is gone; one message a run at most.

from __future__ import annotations

import json
import os
import socket
import time

from ansible_collections.fruitstore.catalog.plugins.module_utils import _files
from ansible_collections.fruitstore.catalog.plugins.module_utils import _smtp as smtp
from ansible_collections.fruitstore.catalog.plugins.module_utils._files import (
    ensure_parent,
    exclusive,
    write_atomically,
)
from ansible_collections.fruitstore.catalog.plugins.module_utils._mail import smtp_settings

STATE_VERSION = 1


def now():
    """The clock (one place, for the tests)."""
    return time.time()


class AlertError(Exception):
    """The alert mail could not be built, sent or recorded, or the state read; result is what the module returns."""

    def __init__(self, message, result=None):
        super().__init__(message)
        self.result = result or {}


class DamagedState(Exception):
    """The state file is not what this module writes; the text says how."""


def parse_state(data):
    """The open problems of a state file's bytes, {key: {text, since, mailed}}; DamagedState when it is not one."""
    try:
        state = json.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise DamagedState("it is not text (binary data)")
    except ValueError as e:
        raise DamagedState("it is not JSON (%s)" % e)
    if not isinstance(state, dict) or not isinstance(state.get("open"), dict):
        raise DamagedState("it holds %s, not an object with 'open'" % _shape(state))
    for key, problem in state["open"].items():
        if not (isinstance(problem, dict) and isinstance(problem.get("text"), str)
                and all(isinstance(problem.get(field), (int, float)) and not isinstance(problem.get(field), bool)
                        for field in ("since", "mailed"))):
            raise DamagedState("its problem %r is %s, not an object with text, since and mailed" % (key, _shape(problem)))
    return state["open"]


def _shape(value):
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(type(value), "a number")


def read_state(path):
    """(open problems, None), or ({}, the cause) when the file is damaged; no file is no problem open."""
    try:
        data = _files.read_state(path)  # never through a link, never unbounded
    except _files.StateError as e:
        return {}, str(e)
    if data is None:
        return {}, None
    try:
        return parse_state(data), None
    except DamagedState as e:
        return {}, str(e)


def set_aside(path, moment):
    """Rename a damaged state file to <name>.damaged-<UTC time> (a free name) and return that name."""
    base = "%s.damaged-%s" % (path, time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(moment)))
    aside, number = base, 1
    while os.path.lexists(aside):
        number += 1
        aside = "%s-%d" % (base, number)
    try:
        os.rename(path, aside)
    except OSError as e:
        raise AlertError("The alert state %s is damaged and cannot be set aside: %s" % (path, e))
    return aside


def write_state(path, open_problems):
    ensure_parent(path)
    data = json.dumps({"version": STATE_VERSION, "open": open_problems}, indent=1, sort_keys=True) + "\n"
    write_atomically(path, data.encode())


class Plan:
    """What a run tells, given the problems of this run (alerts) and those already mailed (known)."""

    def __init__(self, alerts, known, moment, reminder_seconds):
        self.current = {}
        for alert in alerts:  # a key given twice is one problem, told with its first text
            self.current.setdefault(alert["key"], alert["text"])
        self.known = known
        self.moment = moment
        self.new = [key for key in self.current if key not in known]
        self.reminded = [key for key in self.current
                         if key in known and moment - known[key]["mailed"] >= reminder_seconds]
        self.recovered = sorted(key for key in known if key not in self.current)
        self.still = [key for key in self.current if key in known and key not in self.reminded]

    @property
    def due(self):
        return bool(self.new or self.reminded or self.recovered)

    def after(self):
        """The open problems once this run's mail went out."""
        state = {}
        for key, text in self.current.items():
            if key in self.new:
                state[key] = dict(text=text, since=self.moment, mailed=self.moment)
            elif key in self.reminded:
                state[key] = dict(self.known[key], text=text, mailed=self.moment)
            else:
                state[key] = self.known[key]
        return state

    def subject(self, prefix):
        count = len(self.current)
        needs = "%d problem%s need%s a person" % (count, "" if count == 1 else "s", "s" if count == 1 else "")
        if self.new or self.reminded:
            return "%s: %s%s" % (prefix, needs, ", %d recovered" % len(self.recovered) if self.recovered else "")
        recovered = "recovered %s" % (self.recovered[0] if len(self.recovered) == 1 else
                                      "%d problems" % len(self.recovered))
        return "%s: %s; %s" % (prefix, recovered, "still %s" % needs if count else "nothing needs a person")

    def body(self, reminder_hours, state_path):
        lines = ["What the supplier import on %s found needing a person." % socket.gethostname()]
        sections = (("New", self.new, self.current, False),
                    ("Still open, reminder", self.reminded, self.current, True),
                    ("Recovered: no longer found", self.recovered, {k: p["text"] for k, p in self.known.items()}, True),
                    ("Still open, mailed before", self.still, self.current, True))
        for title, keys, texts, since in sections:
            if not keys:
                continue
            lines += ["", "%s (%d):" % (title, len(keys))]
            for key in keys:
                lines.append("  %s" % texts[key])
                lines.append("    [%s]%s" % (key, ", open since %s" % _when(self.known[key]["since"]) if since else ""))
        lines += ["", "A problem is mailed when it appears, again every %g hours while it lasts, and once when it is "
                  "gone. What was mailed: %s" % (reminder_hours, state_path)]
        return "\n".join(lines) + "\n"


def _when(moment):
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(moment))


def notify(params, check_mode, warn):
    """Tell the operations team what changed since the last mail, in one message, and record it once sent.

    Returns the module's result; raises AlertError (with the result so far) when the mail or the state failed."""
    path = params["state_path"]
    mail = params["mail"]
    try:
        relay = smtp_settings(mail)
    except smtp.MailError as e:
        raise AlertError("Cannot build the alert mail: %s" % e)
    # Two runs at once take turns: the second reads what the first recorded and has nothing left to send.
    with exclusive(path, check_mode=check_mode, holder="another run of the import alerts"):
        moment = now()
        known, damage = read_state(path)
        if damage:
            if check_mode:
                warn("The alert state %s is damaged (%s); a real run sets it aside and mails every open problem "
                     "again, as new." % (path, damage))
            else:
                aside = set_aside(path, moment)
                warn("The alert state %s was damaged (%s); it was set aside as %s and is rebuilt: every open problem "
                     "is mailed again, as new." % (path, damage, aside))
        plan = Plan(params["alerts"], known, moment, params["reminder_hours"] * 3600)
        result = dict(changed=False, sent=False, new=plan.new, reminded=plan.reminded, recovered=plan.recovered,
                      open=len(plan.current), subject="", body="")
        if not plan.due:
            if damage and not check_mode:
                _record(path, {}, result)
            return result
        result.update(subject=plan.subject(params["subject_prefix"]),
                      body=plan.body(params["reminder_hours"], path))
        try:
            message = smtp.build_message(mail["sender"], mail["to"], result["subject"], result["body"])
        except smtp.MailError as e:
            raise AlertError("Cannot build the alert mail: %s" % e, result)
        result.update(changed=True, sent=True)
        if check_mode:
            return result
        try:
            smtp.send(relay, message)
        except smtp.MailError as e:
            raise AlertError("The alert mail to %s was not sent: %s. Nothing was recorded; the next run tries again."
                             % (", ".join(mail["to"]), e), dict(result, changed=False, sent=False))
        _record(path, plan.after(), result)
    return result


def _record(path, open_problems, result):
    try:
        write_state(path, open_problems)
    except OSError as e:
        raise AlertError("The alert mail was sent, but recording it in %s failed: %s; the next run mails its problems "
                         "again." % (path, e) if result["sent"] else
                         "Cannot rebuild the alert state %s: %s" % (path, e), result)
