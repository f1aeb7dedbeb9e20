#!/usr/bin/python3
# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
#
# Deployed by the fruitstore health_monitor role; managed by Ansible, local changes are overwritten.
"""Check this host's health and mail the team when it changes.

Checks (each independent): CPU usage over a limit (measured over a real interval), free share of each
configured mount below a minimum, available memory below a minimum, and `localhost` resolving to 127.0.0.1.

A check alerts once it has failed for N consecutive runs, then stays quiet until a reminder is due, and
mails a recovery when it passes again. Mails that cannot be delivered wait in the state file and go out on
a later run, exactly once. A lock keeps overlapping runs from both acting.

Prints one status line (or JSON with --json) and exits 0 (OK), 2 (CRITICAL) or 3 (UNKNOWN), as a Nagios
plugin does. Settings come from an INI file (section [health_check]) and can be overridden by flags; each is
checked against its range before anything runs (see SETTINGS), and a bad one is UNKNOWN.
Needs Python 3, psutil, and fruitstore_smtp.py in lib_dir.

A run takes at most cpu_interval_seconds + smtp_timeout seconds, plus well under a second of its own work:
smtp_timeout is a deadline for all the mail of the run, however slowly the relay answers. A damaged state
file is set aside and the run starts afresh (see StateStore).
"""

from __future__ import annotations

import argparse
import configparser
import contextlib
import copy
import email
import fcntl
import functools
import glob
import importlib
import json
import math
import os
import re
import socket
import sys
import time
import traceback
import unicodedata
from types import SimpleNamespace

DEFAULT_CONFIG_PATH = "/etc/health_check.ini"
CONFIG_SECTION = "health_check"
ALERT_BODY = "Please check your system and resolve the issue as soon as possible."
RECOVERY_BODY = "The problem is resolved; the check passes again: %s."
EXIT_CODES = {"OK": 0, "CRITICAL": 2, "UNKNOWN": 3}
MB = 1024 * 1024


class HealthCheckError(Exception):
    """The run cannot do its job (bad settings, lock held, missing library): status UNKNOWN."""


# ---------------------------------------------------------------------------------------------- settings
#
# Every setting has a kind that reads it from text (the INI file and the flags give text) and refuses any value
# outside its range, saying what is allowed. The ranges keep a run short: it waits cpu_interval_seconds for the
# CPU figure and at most smtp_timeout for all its mail, so with the maxima (10 + 45 s) a run ends well within
# cron's minute and never holds the lock when the next run starts.

def control_character(text):
    """(position, character) of the first line break or other control character in text (a tab is fine), or None."""
    for position, char in enumerate(text):
        if char != "\t" and unicodedata.category(char) in ("Cc", "Zl", "Zp"):
            return position, char
    return None


class Kind:
    """How a setting is read from text; calling it returns the value or raises ValueError saying what is allowed."""

    allowed = "text"
    secret = False  # never shown in a message


class Text(Kind):
    """One line of text, surrounding white space removed (so a value ending in a newline is cleaned).

    path: an absolute path; required (by default when path): not empty."""

    def __init__(self, allowed="one line of text", path=False, required=None, secret=False):
        self.allowed = allowed
        self.path = path
        self.required = path if required is None else required
        self.secret = secret

    def __call__(self, text):
        value = text.strip()
        bad = control_character(value)
        if bad:
            raise ValueError("%s, without line breaks or other control characters (it holds U+%04X at character %d)"
                             % (self.allowed, ord(bad[1]), bad[0] + 1))
        if self.required and not value or self.path and value and not value.startswith("/"):
            raise ValueError(self.allowed)
        return value


class Number(Kind):
    """A finite number (a whole one if whole) from low to high."""

    def __init__(self, low, high, unit, whole=False):
        self.low, self.high, self.whole = low, high, whole
        self.allowed = "a %s from %s to %s (%s)" % ("whole number" if whole else "number", number(low), number(high),
                                                    unit)

    def __call__(self, text):
        try:
            value = int(text) if self.whole else float(text)
        except ValueError:
            raise ValueError(self.allowed)
        if not (math.isfinite(value) and self.low <= value <= self.high):
            raise ValueError(self.allowed)
        return value


class Choice(Kind):
    def __init__(self, *choices):
        self.choices = choices
        self.allowed = "one of " + ", ".join(choices)

    def __call__(self, text):
        value = text.strip().lower()
        if value not in self.choices:
            raise ValueError(self.allowed)
        return value


class Boolean(Choice):
    TRUE, FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")

    def __init__(self):
        super().__init__(*(self.TRUE + self.FALSE))
        self.allowed = "true or false (also yes/no, on/off, 1/0)"

    def __call__(self, text):
        return super().__call__(text) in self.TRUE


class Mounts(Kind):
    """Mount points, separated by commas or spaces: at least one, each an absolute path."""

    allowed = "one or more absolute paths separated by commas or spaces"

    def __call__(self, text):
        mounts = [Text(self.allowed, path=True)(mount) for mount in str(text).replace(",", " ").split()]
        if not mounts:
            raise ValueError(self.allowed)
        return mounts


class CronField(Kind):
    """A cron minute or hour field as the role writes it into the crontab; .times(text) lists the numbers it matches."""

    PART = re.compile(r"^(\*|(\d+)(?:-(\d+))?)(?:/(\d+))?$")

    def __init__(self, unit, low, high):
        self.low, self.high = low, high
        self.allowed = ("a cron %s field: *, a number from %d to %d, a range a-b, a step */n or a-b/n, or a list of "
                        "these separated by commas" % (unit, low, high))

    def __call__(self, text):
        value = text.strip()
        self.times(value)
        return value

    def times(self, field):
        matched = set()
        for part in field.split(","):
            found = self.PART.match(part)
            if not found:
                raise ValueError(self.allowed)
            star, first, last, step = found.groups()
            start, end = (self.low, self.high) if star == "*" else (int(first), int(last or first))
            if step is not None and star != "*" and last is None or not self.low <= start <= end <= self.high \
                    or step is not None and not 1 <= int(step) <= self.high:
                raise ValueError(self.allowed)
            matched.update(range(start, end + 1, int(step or 1)))
        return sorted(matched)


def number(value):
    """80.0 -> '80', 0.5 -> '0.5': thresholds appear in subjects and messages as the user wrote them."""
    return str(int(value)) if float(value).is_integer() else str(value)


# name: (kind, default, help). The INI keys and the --flags are these names.
SETTINGS = {
    "recipient": (Text("a mail address"), "", "address the mails go to (required, but for a dry run)"),
    "mail_from": (Text("a mail address", required=True), "automation@example.com", "sender address"),
    "smtp_host": (Text("a host name or address", required=True), "localhost", "mail relay host"),
    "smtp_port": (Number(1, 65535, "a TCP port", whole=True), 25, "mail relay port"),
    "smtp_security": (Choice("plain", "starttls", "tls"), "plain",
                      "plain (no TLS), starttls, or tls (implicit TLS, often port 465)"),
    "smtp_username": (Text(), "", "login at the relay (with smtp_password)"),
    "smtp_password": (Text(secret=True), "",
                      "password of the login, better kept in the config file than given as a flag (the role "
                      "writes a config that holds one with mode 0600)"),
    "smtp_timeout": (Number(1, 45, "seconds"), 20.0,
                     "seconds all the mail of a run may take, however slowly the relay answers: a deadline for the "
                     "connection, banner, EHLO, STARTTLS, login and every message, not a wait per read"),
    "smtp_validate_certs": (Boolean(), True, "verify the relay's TLS certificate"),
    "smtp_ca_path": (Text("an absolute path, or empty for the system's CA certificates", path=True, required=False),
                     "", "file of CA certificates (PEM) the relay's certificate is verified against"),
    "cpu_percent_max": (Number(1, 100, "percent"), 80.0, "alert when CPU usage is over this percentage"),
    "cpu_interval_seconds": (Number(0.1, 10, "seconds"), 1.0, "seconds over which CPU usage is measured"),
    "disk_free_percent_min": (Number(0, 100, "percent"), 20.0,
                              "alert when a mount's free share is below this percentage"),
    "disk_mounts": (Mounts(), ["/"], "mount points whose free share is checked, each on its own"),
    "memory_available_mb_min": (Number(0, 16 * 1024 * 1024, "MB"), 500.0,
                                "alert when available memory is below this many MB"),
    "consecutive_failures": (Number(1, 1440, "runs", whole=True), 1, "failed runs in a row before a check alerts"),
    "reminder_minutes": (Number(0, 43200, "minutes; 0: never"), 60.0,
                         "minutes between reminders while a check keeps failing; 0: never"),
    "state_dir": (Text("an absolute path", path=True), "/var/lib/health_check",
                  "directory of the state file (each check's state, the mails waiting, the last run) and the lock"),
    "lib_dir": (Text("an absolute path", path=True), "/usr/local/lib/fruitstore",
                "directory of the mail library, fruitstore_smtp.py"),
    "cron_minute": (CronField("minute", 0, 59), "*",
                    "minute field of the cron entry that runs the check (a dry run tells from it and cron_hour "
                    "whether cron's next run is overdue)"),
    "cron_hour": (CronField("hour", 0, 23), "*", "hour field of the cron entry that runs the check"),
}


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise HealthCheckError(message)


def parse_args(argv):
    parser = _Parser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="INI file (default %s, optional when absent)" % DEFAULT_CONFIG_PATH)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--dry-run", action="store_true", help="check and print; send nothing, change no state")
    parser.add_argument("--check-config", action="store_true",
                        help="check the settings (and that the mail library loads) and exit: 0 when they are usable")
    for name, (kind, default, text) in SETTINGS.items():
        shown = ", ".join(default) if isinstance(default, list) else number(default) if isinstance(default, float) \
            else default
        parser.add_argument("--" + name.replace("_", "-"), dest=name, metavar=name.upper(),
                            help="%s; %s (default: %s)" % (text, kind.allowed, shown if shown != "" else "none"))
    return parser.parse_args(argv)


def read_config(path, required):
    """{name: text} of the config file's [health_check] section; {} when there is no file and none is required."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        if required:
            raise HealthCheckError("config file %s not found" % path)
        return {}
    except OSError as e:
        raise HealthCheckError("cannot read config file %s: %s" % (path, e))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise HealthCheckError("config file %s is not UTF-8 text: byte 0x%02x on line %d cannot be read; save it "
                               "as UTF-8" % (path, data[e.start], data.count(b"\n", 0, e.start) + 1))
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(text, source=path)
    except configparser.Error as e:
        raise HealthCheckError("cannot read config file %s: %s" % (path, " ".join(str(e).split())))
    if not parser.has_section(CONFIG_SECTION):
        return {}
    values = dict(parser.items(CONFIG_SECTION))
    unknown = sorted(set(values) - set(SETTINGS))
    if unknown:
        names = ", ".join("'%s'" % key for key in unknown)
        raise HealthCheckError("unknown setting%s %s in %s" % ("s" if len(unknown) > 1 else "", names, path))
    return values


def load_settings(options):
    """Defaults, then the config file, then flags; every value read and checked by its kind."""
    path = options.config or DEFAULT_CONFIG_PATH
    given = [(name, text, "in %s" % path) for name, text in read_config(path, required=bool(options.config)).items()]
    given += [(name, getattr(options, name), "from --%s" % name.replace("_", "-"))
              for name in SETTINGS if getattr(options, name) is not None]
    values = {name: copy.copy(default) for name, (_kind, default, _text) in SETTINGS.items()}
    problems = []
    for name, text, source in given:
        kind = SETTINGS[name][0]
        try:
            values[name] = kind(text)
        except ValueError as e:
            shown = "(not shown)" if kind.secret else repr(text)
            problems.append("bad setting %s = %s %s: must be %s" % (name, shown, source, e))
    settings = SimpleNamespace(**values)
    if not problems:
        problems = cross_checks(settings, needs_recipient=not options.dry_run)
    if problems:
        raise HealthCheckError("; ".join(problems))
    return settings


def cross_checks(settings, needs_recipient):
    problems = []
    if needs_recipient and not settings.recipient:
        problems.append("no recipient configured (setting recipient)")
    if bool(settings.smtp_username) != bool(settings.smtp_password):
        problems.append("smtp_username and smtp_password must be set together")
    return problems


# ---------------------------------------------------------------------------------------------- checks

class SystemProbe:
    """The figures the checks read; tests pass an object with the same methods."""

    def __init__(self):
        try:
            self._psutil = importlib.import_module("psutil")
        except ImportError:
            raise HealthCheckError("psutil is not installed (Debian: python3-psutil)")

    def cpu_percent(self, interval):
        return self._psutil.cpu_percent(interval=interval)

    def disk_usage(self, mount):
        return self._psutil.disk_usage(mount)

    def virtual_memory(self):
        return self._psutil.virtual_memory()

    def resolve(self, name):
        return socket.gethostbyname(name)


def measure_cpu(probe, maximum, interval):
    usage = probe.cpu_percent(interval)
    return usage > maximum, "%.1f%% used" % usage


def measure_disk(probe, mount, minimum):
    usage = probe.disk_usage(mount)
    free = usage.free * 100.0 / usage.total
    return free < minimum, "%.1f%% free" % free


def measure_memory(probe, minimum):
    available = probe.virtual_memory().available / MB
    return available < minimum, "%dMB available" % available


def measure_localhost(probe):
    try:
        address = probe.resolve("localhost")
    except OSError as e:
        return True, "lookup failed: %s" % e
    return address != "127.0.0.1", "resolves to %s" % address


def planned_checks(settings):
    """(name, problem, measure) of every configured check; the problem text is the mail subject's."""
    checks = [("cpu", "CPU usage is over %s%%" % number(settings.cpu_percent_max),
               functools.partial(measure_cpu, maximum=settings.cpu_percent_max,
                                 interval=settings.cpu_interval_seconds))]
    for mount in settings.disk_mounts:
        where = "" if mount == "/" else " on %s" % mount
        checks.append(("disk %s" % mount,
                       "Available disk space is less than %s%%%s" % (number(settings.disk_free_percent_min), where),
                       functools.partial(measure_disk, mount=mount, minimum=settings.disk_free_percent_min)))
    checks.append(("memory", "Available memory is less than %sMB" % number(settings.memory_available_mb_min),
                   functools.partial(measure_memory, minimum=settings.memory_available_mb_min)))
    checks.append(("localhost", "localhost cannot be resolved to 127.0.0.1", measure_localhost))
    return checks


def run_checks(checks, probe):
    results = []
    for name, problem, measure in checks:
        try:
            failed, reading = measure(probe)
        except Exception as e:  # one broken check must never hide the others
            failed, reading = True, "cannot be measured: %s" % e
        results.append(SimpleNamespace(name=name, problem=problem, failed=failed, reading=reading))
    return results


# ---------------------------------------------------------------------------------------------- state

def transition(check_state, result, now, settings):
    """Update one check's state with this run's result; return the mail it calls for, if any.

    Returns 'alert' (N consecutive failures reached), 'reminder' (still failing, interval passed),
    'recovery' (passes again after an alert) or None.
    """
    if not result.failed:
        was_alerted = check_state.get("alerted", False)
        check_state.clear()
        return "recovery" if was_alerted else None
    check_state.setdefault("since", now)
    check_state["failures"] = check_state.get("failures", 0) + 1
    if check_state["failures"] < settings.consecutive_failures:
        return None
    if not check_state.get("alerted"):
        kind = "alert"
        check_state["alerted_at"] = now
    elif settings.reminder_minutes and now - check_state["last_mail"] >= settings.reminder_minutes * 60:
        kind = "reminder"
    else:
        return None
    check_state.update(alerted=True, last_mail=now, problem=result.problem)
    return kind


def mails_due(state, results, now, settings):
    """Advance every check's state; return the mails to send ({check, kind, subject, body}).

    A recovery names the problem its alert named, even if the threshold changed since. Removed checks are forgotten.
    """
    previous = state.get("checks", {})
    state["checks"] = {result.name: previous.get(result.name, {}) for result in results}
    due = []
    for result in results:
        check_state = state["checks"][result.name]
        alerted_about = check_state.get("problem", result.problem)
        kind = transition(check_state, result, now, settings)
        if kind == "recovery":
            due.append({"check": result.name, "kind": kind, "subject": "Recovered - " + alerted_about,
                        "body": RECOVERY_BODY % result.reading})
        elif kind:
            due.append({"check": result.name, "kind": kind, "subject": "Error - " + result.problem,
                        "body": ALERT_BODY})
    return due


# What a state file may hold: (types, required) per field. A file of any other shape is damaged.
NUMBER = (int, float)
STATE_FIELDS = {"checks": (dict, False), "spool": (list, False), "last_run": (NUMBER, False),
                "last_status": (str, False)}
CHECK_FIELDS = {"failures": (int, False), "alerted": (bool, False), "last_mail": (NUMBER, False),
                "problem": (str, False), "since": (NUMBER, False), "alerted_at": (NUMBER, False)}
MAIL_FIELDS = {"subject": (str, True), "queued": (NUMBER, True), "message": (str, True)}
TYPE_NAMES = {dict: "an object", list: "a list", str: "a string", bool: "true or false", int: "a whole number",
              float: "a number", type(None): "null"}


def shape_problem(value, fields, where=None):
    """What is wrong with value (a JSON object with these fields; where names it, None for the whole file), or None."""
    if not isinstance(value, dict):
        return "%s %s %s, not an object" % (where or "it", "is" if where else "holds", type_name(value))
    for key, (types, required) in fields.items():
        field = "%s.%s" % (where, key) if where else key
        if key not in value:
            if required:
                return "%s has no %s" % (where, key)
            continue
        item = value[key]
        types = types if isinstance(types, tuple) else (types,)
        if isinstance(item, bool) and bool not in types or not isinstance(item, types):
            return "%s is %s, not %s" % (field, type_name(item), TYPE_NAMES[types[-1]])
        if isinstance(item, NUMBER) and not isinstance(item, bool) and not (math.isfinite(item) and item >= 0):
            return "%s is %r" % (field, item)
    return None


def type_name(value):
    return TYPE_NAMES.get(type(value), type(value).__name__)


def state_problem(state):
    """What makes a loaded state unusable, or None."""
    problem = shape_problem(state, STATE_FIELDS)
    if problem:
        return problem
    for name, check in state.get("checks", {}).items():
        where = "checks[%s]" % json.dumps(name)
        problem = shape_problem(check, CHECK_FIELDS, where)
        if problem:
            return problem
        if check.get("alerted") and not {"last_mail", "problem"} <= set(check):
            return "%s is alerted but has no last_mail or problem" % where
    for index, mail in enumerate(state.get("spool", [])):
        problem = shape_problem(mail, MAIL_FIELDS, "spool[%d]" % index)
        if problem:
            return problem
    return None


class StateStore:
    """state.json and the lock file in the state directory.

    A damaged state file (not JSON, cut short, binary, or JSON of another shape) is named in a warning, set aside
    as state.json.damaged-<UTC time> for a person to read, and the run starts from a fresh state, as on a new
    host: a check failing now alerts again, one that had alerted and passes now sends no recovery, and mails
    waiting in the damaged file are not sent. Leftover temporary files of an interrupted save are removed."""

    def __init__(self, directory):
        self.directory = directory
        self.path = os.path.join(directory, "state.json")
        self.lock_path = os.path.join(directory, "lock")

    @contextlib.contextmanager
    def locked(self):
        os.makedirs(self.directory, mode=0o750, exist_ok=True)
        with open(self.lock_path, "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise HealthCheckError("another health_check run holds %s" % self.lock_path)
            yield

    def load(self, repair=True):
        """The state; a damaged file is set aside (only reported when not repair, as in a dry run)."""
        if repair:
            self._remove_temporary_files()
        try:
            with open(self.path, "rb") as handle:
                data = handle.read()
        except FileNotFoundError:
            data = None
        state, problem = ({}, None) if data is None else self._parse(data)
        if problem:
            self._set_aside(problem, repair)
            state = {}
        state.setdefault("checks", {})
        state.setdefault("spool", [])
        return state

    @staticmethod
    def _parse(data):
        try:
            state = json.loads(data.decode("utf-8"))
        except UnicodeDecodeError:
            return None, "it is not UTF-8 text"
        except ValueError as e:
            return None, "it is empty" if not data.strip() else "it is not valid JSON (%s)" % e
        except RecursionError:
            return None, "it is nested too deeply"
        return state, state_problem(state)

    def _set_aside(self, problem, repair):
        if not repair:
            warn("the state file %s is damaged: %s; a real run sets it aside and starts afresh" % (self.path, problem))
            return
        aside = "%s.damaged-%s" % (self.path, time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
        if os.path.exists(aside):
            aside += "-%d" % os.getpid()
        os.replace(self.path, aside)
        warn("the state file %s is damaged: %s; set aside as %s, starting from a fresh state (a check failing now "
             "alerts again; mails that waited in it are not sent)" % (self.path, problem, os.path.basename(aside)))

    def _remove_temporary_files(self):
        for leftover in glob.glob(glob.escape(self.path) + ".tmp*"):
            with contextlib.suppress(FileNotFoundError):
                os.remove(leftover)

    def save(self, state):
        temporary = "%s.tmp%d" % (self.path, os.getpid())
        try:
            with open(temporary, "w", encoding="utf-8") as handle:
                json.dump(state, handle, indent=1, sort_keys=True)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self.path)
        except OSError as e:
            with contextlib.suppress(OSError):
                os.remove(temporary)
            raise HealthCheckError("cannot write the state file %s: %s" % (self.path, e.strerror or e))


# ---------------------------------------------------------------------------------------------- mail

class DeliveryError(Exception):
    """The relay could not take a message now; it stays in the spool."""


def load_smtp_module(lib_dir):
    """Import fruitstore_smtp (the collection's _smtp.py, deployed next to this script) from lib_dir."""
    sys.dont_write_bytecode = True  # leave no __pycache__ behind in lib_dir
    if lib_dir not in sys.path:
        sys.path.insert(0, lib_dir)
    try:
        return importlib.import_module("fruitstore_smtp")
    except ImportError as e:
        raise HealthCheckError("cannot import fruitstore_smtp from %s: %s" % (lib_dir, e))


class SMTPMailer:
    """Builds messages with fruitstore_smtp and delivers them through the configured relay.

    All the deliveries of one run share one deadline, smtp_timeout from the first: however slowly the relay
    answers, a run spends at most that long on mail, and mails it could not deliver wait for the next run."""

    def __init__(self, smtp, settings):
        self._smtp = smtp
        self._timeout = settings.smtp_timeout
        self._deadline = None
        try:
            self._sender = smtp.address(settings.mail_from, "bad setting mail_from")
            self._recipient = smtp.address(settings.recipient, "bad setting recipient")
            self._relay = smtp.SMTPSettings(
                host=settings.smtp_host, port=settings.smtp_port, security=settings.smtp_security,
                username=settings.smtp_username or None, password=settings.smtp_password or None,
                timeout=settings.smtp_timeout, validate_certs=settings.smtp_validate_certs,
                ca_file=settings.smtp_ca_path or None)
        except smtp.MailError as e:
            raise HealthCheckError(str(e))
        if settings.smtp_ca_path:  # a CA file that cannot be used is a bad setting, found before any mail waits on it
            try:
                smtp.tls_context(settings.smtp_validate_certs, settings.smtp_ca_path)
            except (OSError, ValueError) as e:
                raise HealthCheckError("bad setting smtp_ca_path = %r: cannot load CA certificates from it: %s"
                                       % (settings.smtp_ca_path, getattr(e, "strerror", None) or e))

    def compose(self, subject, body, headers):
        """The complete message as text, so that a spooled mail keeps its Date and Message-ID."""
        message = self._smtp.build_message(self._sender, [self._recipient], subject, body)
        for name, value in headers.items():
            message[name] = value
        return message.as_string()

    def deliver(self, text):
        if self._deadline is None:
            self._deadline = self._smtp.Deadline(self._timeout)
        try:
            self._smtp.send(self._relay, email.message_from_string(text, policy=self._smtp.POLICY), self._deadline)
        except self._smtp.MailError as e:
            raise DeliveryError(str(e))


def spool_mails(state, due, mailer, now, host):
    for mail in due:
        headers = {"X-Health-Check-Host": host, "X-Health-Check": "%s %s" % (mail["check"], mail["kind"])}
        text = mailer.compose(mail["subject"], mail["body"], headers)
        state["spool"].append({"subject": mail["subject"], "queued": now, "message": text})


def flush_spool(state, store, mailer):
    """Send the spooled mails in order, saving after each; stop at the first failure. Returns (sent, error)."""
    sent = []
    while state["spool"]:
        try:
            mailer.deliver(state["spool"][0]["message"])
        except DeliveryError as e:
            return sent, str(e)
        sent.append(state["spool"].pop(0)["subject"])
        store.save(state)
    return sent, None


# ---------------------------------------------------------------------------------------------- run

def run(settings, probe, mailer, clock=time.time, dry_run=False, host=None, deployed=None):
    """One health check run; returns a report (see report(); format_line prints it).

    deployed: when the config was written (its mtime), the reference for an overdue cron job that never ran."""
    host = host or socket.gethostname()
    store = StateStore(settings.state_dir)
    if dry_run:
        state = store.load(repair=False)
        before = dict(alerts=open_alerts(state), waiting=spooled(state), last_run=state.get("last_run"),
                      last_status=state.get("last_status"))
        results = run_checks(planned_checks(settings), probe)
        now = clock()
        due = mails_due(state, results, now, settings)
        return report(host, now, results, settings, would_send=[mail["subject"] for mail in due],
                      deployed=deployed, **before)
    with store.locked():
        state = store.load()
        results = run_checks(planned_checks(settings), probe)
        now = clock()
        spool_mails(state, mails_due(state, results, now, settings), mailer, now, host)
        state.update(last_run=now, last_status=status_of(results))
        store.save(state)
        sent, error = flush_spool(state, store, mailer)
    return report(host, now, results, settings, alerts=open_alerts(state), sent=sent, waiting=spooled(state),
                  error=error, last_run=now, last_status=state["last_status"])


def status_of(results):
    return "CRITICAL" if any(result.failed for result in results) else "OK"


def open_alerts(state):
    """The checks whose alert went out (or waits in the spool) and that have not recovered, as JSON objects."""
    return [{"check": name, "problem": check["problem"], "failing_since": check.get("since"),
             "alerted_at": check.get("alerted_at"), "last_mail": check["last_mail"]}
            for name, check in state["checks"].items() if check.get("alerted")]


def spooled(state):
    return [mail["subject"] for mail in state["spool"]]


# A cron job is overdue once its last run is older than the longest gap of its schedule plus this much.
OVERDUE_GRACE = 60


def cron_status(settings, now, last_run, last_status, deployed):
    """The cron job as the state file knows it: its schedule, the last real run, and whether the next is overdue.

    The longest gap between two runs of the schedule (minute and hour fields, every day) plus OVERDUE_GRACE is how
    old the last run may be; a job that never ran is measured from when the config was written (deployed)."""
    minutes = [hour * 60 + minute for hour in SETTINGS["cron_hour"][0].times(settings.cron_hour)
               for minute in SETTINGS["cron_minute"][0].times(settings.cron_minute)]
    gap = max(later - earlier for earlier, later in zip(minutes, minutes[1:] + [minutes[0] + 1440])) * 60
    since = last_run if last_run is not None else deployed
    return {"schedule": "%s %s * * *" % (settings.cron_minute, settings.cron_hour), "last_run": last_run,
            "last_status": last_status, "overdue_after": gap + OVERDUE_GRACE,
            "overdue": since is not None and now - since > gap + OVERDUE_GRACE}


# The JSON interface (--json): documented key by key in the role's README; a key changes meaning or goes away only
# with a new version, new keys may come in any.
JSON_VERSION = 1


def report(host, now, results, settings, alerts=(), sent=(), waiting=(), error=None, would_send=None,
           last_run=None, last_status=None, deployed=None):
    status = status_of(results)
    return {"version": JSON_VERSION, "status": status, "exit_code": EXIT_CODES[status], "host": host, "time": now,
            "checks": [vars(result) for result in results], "alerts": list(alerts),
            "mails": {"sent": list(sent), "waiting": list(waiting), "error": error},
            "dry_run": would_send is not None, "would_send": list(would_send or []),
            "cron": cron_status(settings, now, last_run, last_status, deployed)}


def format_line(result):
    """One line, Nagios style: failing checks first, then the others, then what happened to the mail."""
    if result["status"] == "UNKNOWN":
        return "HEALTH UNKNOWN - %s" % result["error"]
    checks = sorted(result["checks"], key=lambda check: not check["failed"])
    readings = "; ".join("%s%s: %s" % ("FAILED " if check["failed"] else "", check["name"], check["reading"])
                         for check in checks)
    if result["dry_run"]:
        mail = "dry run, would send: %s, waiting: %d" % (", ".join(result["would_send"]) or "nothing",
                                                         len(result["mails"]["waiting"]))
    else:
        mail = "mails sent: %d, waiting: %d" % (len(result["mails"]["sent"]), len(result["mails"]["waiting"]))
    overdue = "; OVERDUE: no run by cron since %s" % (
        time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(result["cron"]["last_run"]))
        if result["cron"]["last_run"] is not None else "the config was written") if result["cron"]["overdue"] else ""
    return "HEALTH %s - %s | %s%s" % (result["status"], readings, mail, overdue)


def written(path):
    """When the config file was last written, or None without one."""
    try:
        return os.stat(path).st_mtime
    except OSError:
        return None


def warn(text):
    print("health_check: %s" % text, file=sys.stderr)


def unknown(error, clock=time.time):
    return {"version": JSON_VERSION, "status": "UNKNOWN", "exit_code": EXIT_CODES["UNKNOWN"],
            "host": socket.gethostname(), "time": clock(), "error": error}


def main(argv=None, probe=None, clock=time.time):
    as_json = False
    try:
        options = parse_args(argv)
        as_json = options.json
        settings = load_settings(options)
        mailer = None if options.dry_run else SMTPMailer(load_smtp_module(settings.lib_dir), settings)
        if options.check_config:
            print("health_check: the settings are usable")
            return EXIT_CODES["OK"]
        result = run(settings, probe or SystemProbe(), mailer, clock, options.dry_run,
                     deployed=written(options.config or DEFAULT_CONFIG_PATH))
    except (HealthCheckError, OSError) as e:
        result = unknown(str(e), clock)
    except Exception as e:  # a Nagios plugin says UNKNOWN, never just dies; the traceback goes to stderr (cron mail)
        traceback.print_exc()
        result = unknown("unexpected error: %s: %s" % (e.__class__.__name__, e), clock)
    print(json.dumps(result, sort_keys=True) if as_json else format_line(result))
    error = result.get("mails", {}).get("error")
    if error:
        warn("%s; %d mail(s) kept for the next run" % (error, len(result["mails"]["waiting"])))
    return result["exit_code"]


if __name__ == "__main__":
    sys.exit(main())
