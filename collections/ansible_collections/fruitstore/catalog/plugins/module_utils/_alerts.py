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
import socket
import time

from ansible_collections.fruitstore.catalog.plugins.module_utils import _smtp as smtp
from ansible_collections.fruitstore.catalog.plugins.module_utils._files import (
    StateError,
    ensure_parent,
    exclusive,
    read_json_state,
    set_aside,
    write_atomically,
)
from ansible_collections.fruitstore.catalog.plugins.module_utils._sent_log import NotRecorded, NotSent, send_and_record
from ansible_collections.fruitstore.catalog.plugins.module_utils._settings import Failed

STATE_VERSION = 1


def now():
    """The clock (one place, for the tests)."""
    return time.time()


class AlertError(Failed):
    """The alert state cannot be read, set aside or written; result is what the module returns."""


def _problem(state):
    """None when state is what this module writes, else how it is not."""
    if not isinstance(state, dict) or not isinstance(state.get("open"), dict):
        return "it holds %s, not an object with 'open'" % _shape(state)
    for key, problem in state["open"].items():
        if not (isinstance(problem, dict) and isinstance(problem.get("text"), str)
                and all(isinstance(problem.get(field), (int, float)) and not isinstance(problem.get(field), bool)
                        for field in ("since", "mailed"))):
            return "its problem %r is %s, not an object with text, since and mailed" % (key, _shape(problem))
    return None


def _shape(value):
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(type(value), "a number")


def read_state(path):
    """(open problems {key: {text, since, mailed}}, None), or ({}, the cause) when the file is damaged; no file is no
    problem open."""
    try:
        state = read_json_state(path, _problem)
    except StateError as e:
        return {}, str(e)
    return (state or {"open": {}})["open"], None


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


def notify(run, mail, alerts, state_path, reminder_hours=24, subject_prefix="Supplier import"):
    """Tell the operations team (mail: a MailSettings) what changed since the last mail, in one message, and record
    it once sent; alerts: this run's problems ({key, text}).

    Returns the module's result; raises AlertError or NotSent/NotRecorded (with the result so far)."""
    # Two runs at once take turns: the second reads what the first recorded and has nothing left to send.
    with exclusive(state_path, check_mode=run.check_mode, holder="another run of the import alerts"):
        moment = now()
        known, damage = read_state(state_path)
        if damage:
            if run.check_mode:
                run.warn("The alert state %s is damaged (%s); a real run sets it aside and mails every open problem "
                         "again, as new." % (state_path, damage))
            else:
                try:
                    aside = set_aside(state_path, moment)
                except OSError as e:
                    raise AlertError("The alert state %s is damaged and cannot be set aside: %s" % (state_path, e))
                run.warn("The alert state %s was damaged (%s); it was set aside as %s and is rebuilt: every open "
                         "problem is mailed again, as new." % (state_path, damage, aside))
        plan = Plan(alerts, known, moment, reminder_hours * 3600)
        result = dict(changed=False, sent=False, new=plan.new, reminded=plan.reminded, recovered=plan.recovered,
                      open=len(plan.current), subject="", body="")
        if not plan.due:
            if damage and not run.check_mode:
                _record(state_path, {}, result)
            return result
        result.update(subject=plan.subject(subject_prefix), body=plan.body(reminder_hours, state_path))
        try:
            message = smtp.build_message(mail.sender, mail.to, result["subject"], result["body"])
        except smtp.MailError as e:
            raise AlertError("Cannot build the alert mail: %s" % e, result)
        try:
            send_and_record(run, mail.relay, message, lambda: write_state(state_path, plan.after()), "alert mail",
                            state_path)
        except NotSent as e:
            e.result = dict(result, changed=False, sent=False)
            raise
        except NotRecorded as e:
            e.result = dict(result, changed=True, sent=True)
            raise
        result.update(changed=True, sent=True)
    return result


def _record(path, open_problems, result):
    try:
        write_state(path, open_problems)
    except OSError as e:
        raise AlertError("Cannot rebuild the alert state %s: %s" % (path, e), result)
