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
plugin does. Settings come from an INI file (section [health_check]) and can be overridden by flags.
Needs Python 3, psutil, and fruitstore_smtp.py in lib_dir.
"""

from __future__ import annotations

import argparse
import configparser
import contextlib
import copy
import email
import email.policy
import fcntl
import functools
import importlib
import json
import os
import socket
import sys
import time
from types import SimpleNamespace

DEFAULT_CONFIG_PATH = "/etc/health_check.ini"
CONFIG_SECTION = "health_check"
ALERT_BODY = "Please check your system and resolve the issue as soon as possible."
RECOVERY_BODY = "The problem is resolved; the check passes again: %s."
EXIT_CODES = {"OK": 0, "CRITICAL": 2, "UNKNOWN": 3}
MB = 1024 * 1024


class HealthCheckError(Exception):
    """The run cannot do its job (bad settings, lock held, missing library): status UNKNOWN."""


def parse_bool(text):
    value = str(text).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ValueError("not a boolean: %r" % text)


def parse_mounts(text):
    return [mount for mount in str(text).replace(",", " ").split() if mount]


# name: (parse, default, help). The INI keys and the --flags are these names.
SETTINGS = {
    "recipient": (str, "", "address the mails go to (required unless --dry-run)"),
    "mail_from": (str, "automation@example.com", "sender address"),
    "smtp_host": (str, "localhost", "mail relay host"),
    "smtp_port": (int, 25, "mail relay port"),
    "smtp_security": (str, "plain", "plain, starttls or tls"),
    "smtp_username": (str, "", "login at the relay (with smtp_password)"),
    "smtp_password": (str, "", "password of the login; prefer the config file to this flag"),
    "smtp_timeout": (float, 20.0, "seconds to wait for the relay"),
    "smtp_validate_certs": (parse_bool, True, "verify the relay's TLS certificate"),
    "cpu_percent_max": (float, 80.0, "alert when CPU usage is over this percentage"),
    "cpu_interval_seconds": (float, 1.0, "seconds over which CPU usage is measured"),
    "disk_free_percent_min": (float, 20.0, "alert when a mount's free share is below this percentage"),
    "disk_mounts": (parse_mounts, ["/"], "mount points to check, separated by commas or spaces"),
    "memory_available_mb_min": (float, 500.0, "alert when available memory is below this many MB"),
    "consecutive_failures": (int, 1, "failed runs in a row before a check alerts"),
    "reminder_minutes": (float, 60.0, "minutes between reminders while a check keeps failing; 0: never"),
    "state_dir": (str, "/var/lib/health_check", "directory of the state file and the lock"),
    "lib_dir": (str, "/usr/local/lib/fruitstore", "directory holding fruitstore_smtp.py"),
}


# ---------------------------------------------------------------------------------------------- settings

class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise HealthCheckError(message)


def parse_args(argv):
    parser = _Parser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="INI file (default %s, optional when absent)" % DEFAULT_CONFIG_PATH)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--dry-run", action="store_true", help="check and print; send nothing, change no state")
    for name, (parse, default, text) in SETTINGS.items():
        shown = ", ".join(default) if isinstance(default, list) else default
        parser.add_argument("--" + name.replace("_", "-"), dest=name, type=parse, metavar=name.upper(),
                            help="%s (default: %s)" % (text, shown if shown != "" else "none"))
    return parser.parse_args(argv)


def read_config(path, required):
    parser = configparser.ConfigParser(interpolation=None)
    try:
        with open(path, encoding="utf-8") as handle:
            parser.read_file(handle)
    except FileNotFoundError:
        if required:
            raise HealthCheckError("config file %s not found" % path)
        return {}
    except (OSError, configparser.Error) as e:
        raise HealthCheckError("cannot read config file %s: %s" % (path, e))
    if not parser.has_section(CONFIG_SECTION):
        return {}
    values = {}
    for key, text in parser.items(CONFIG_SECTION):
        if key not in SETTINGS:
            raise HealthCheckError("unknown setting '%s' in %s" % (key, path))
        try:
            values[key] = SETTINGS[key][0](text)
        except ValueError as e:
            raise HealthCheckError("bad value for '%s' in %s: %s" % (key, path, e))
    return values


def load_settings(options):
    """Defaults, then the config file, then flags."""
    values = {name: copy.copy(default) for name, (_parse, default, _text) in SETTINGS.items()}
    values.update(read_config(options.config or DEFAULT_CONFIG_PATH, required=bool(options.config)))
    values.update({name: getattr(options, name) for name in SETTINGS if getattr(options, name) is not None})
    settings = SimpleNamespace(**values)
    validate(settings, needs_recipient=not options.dry_run)
    return settings


def validate(settings, needs_recipient):
    problems = []
    if needs_recipient and not settings.recipient:
        problems.append("no recipient configured")
    if settings.cpu_interval_seconds <= 0:
        problems.append("cpu_interval_seconds must be over 0")
    if settings.consecutive_failures < 1:
        problems.append("consecutive_failures must be at least 1")
    if settings.reminder_minutes < 0:
        problems.append("reminder_minutes must not be negative")
    if not settings.disk_mounts:
        problems.append("disk_mounts names no mount point")
    if problems:
        raise HealthCheckError("; ".join(problems))


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


def number(value):
    """80.0 -> '80', 0.5 -> '0.5': thresholds appear in subjects as the user wrote them."""
    return str(int(value)) if float(value).is_integer() else str(value)


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
    check_state["failures"] = check_state.get("failures", 0) + 1
    if check_state["failures"] < settings.consecutive_failures:
        return None
    if not check_state.get("alerted"):
        kind = "alert"
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


class StateStore:
    """state.json and the lock file in the state directory."""

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

    def load(self):
        try:
            with open(self.path, encoding="utf-8") as handle:
                state = json.load(handle)
        except FileNotFoundError:
            state = {}
        except ValueError as e:
            warn("ignoring the unreadable state file %s: %s" % (self.path, e))
            state = {}
        state.setdefault("checks", {})
        state.setdefault("spool", [])
        return state

    def save(self, state):
        temporary = self.path + ".tmp"
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(state, handle, indent=1, sort_keys=True)
        os.replace(temporary, self.path)


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
    """Builds messages with fruitstore_smtp and delivers them through the configured relay."""

    def __init__(self, smtp, settings):
        self._smtp = smtp
        self._sender = settings.mail_from
        self._recipient = settings.recipient
        try:
            self._relay = smtp.SMTPSettings(
                host=settings.smtp_host, port=settings.smtp_port, security=settings.smtp_security,
                username=settings.smtp_username or None, password=settings.smtp_password or None,
                timeout=settings.smtp_timeout, validate_certs=settings.smtp_validate_certs)
            smtp.build_message(self._sender, [self._recipient], "", "")  # rejects bad addresses now
        except smtp.MailError as e:
            raise HealthCheckError(str(e))

    def compose(self, subject, body, headers):
        """The complete message as text, so that a spooled mail keeps its Date and Message-ID."""
        message = self._smtp.build_message(self._sender, [self._recipient], subject, body)
        for name, value in headers.items():
            message[name] = value
        return message.as_string()

    def deliver(self, text):
        try:
            self._smtp.send(self._relay, email.message_from_string(text, policy=email.policy.default))
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

def run(settings, probe, mailer, clock=time.time, dry_run=False, host=None):
    """One health check run; returns a report (see format_line)."""
    host = host or socket.gethostname()
    store = StateStore(settings.state_dir)
    if dry_run:
        results = run_checks(planned_checks(settings), probe)
        due = mails_due(store.load(), results, clock(), settings)
        return report(host, results, would_send=[mail["subject"] for mail in due])
    with store.locked():
        state = store.load()
        results = run_checks(planned_checks(settings), probe)
        now = clock()
        spool_mails(state, mails_due(state, results, now, settings), mailer, now, host)
        state.update(last_run=now, last_status=status_of(results))
        store.save(state)
        sent, error = flush_spool(state, store, mailer)
    return report(host, results, sent=sent, waiting=[mail["subject"] for mail in state["spool"]], error=error)


def status_of(results):
    return "CRITICAL" if any(result.failed for result in results) else "OK"


def report(host, results, sent=(), waiting=(), error=None, would_send=None):
    status = status_of(results)
    return {"status": status, "exit_code": EXIT_CODES[status], "host": host,
            "checks": [vars(result) for result in results],
            "mails": {"sent": list(sent), "waiting": list(waiting), "error": error},
            "dry_run": would_send is not None, "would_send": list(would_send or [])}


def format_line(result):
    """One line, Nagios style: failing checks first, then the others, then what happened to the mail."""
    if result["status"] == "UNKNOWN":
        return "HEALTH UNKNOWN - %s" % result["error"]
    checks = sorted(result["checks"], key=lambda check: not check["failed"])
    readings = "; ".join("%s%s: %s" % ("FAILED " if check["failed"] else "", check["name"], check["reading"])
                         for check in checks)
    if result["dry_run"]:
        mail = "dry run, would send: %s" % (", ".join(result["would_send"]) or "nothing")
    else:
        mail = "mails sent: %d, waiting: %d" % (len(result["mails"]["sent"]), len(result["mails"]["waiting"]))
    return "HEALTH %s - %s | %s" % (result["status"], readings, mail)


def warn(text):
    print("health_check: %s" % text, file=sys.stderr)


def main(argv=None, probe=None, clock=time.time):
    as_json = False
    try:
        options = parse_args(argv)
        as_json = options.json
        settings = load_settings(options)
        mailer = None if options.dry_run else SMTPMailer(load_smtp_module(settings.lib_dir), settings)
        result = run(settings, probe or SystemProbe(), mailer, clock, options.dry_run)
    except (HealthCheckError, OSError) as e:
        result = {"status": "UNKNOWN", "exit_code": EXIT_CODES["UNKNOWN"], "error": str(e)}
    print(json.dumps(result, sort_keys=True) if as_json else format_line(result))
    error = result.get("mails", {}).get("error")
    if error:
        warn("%s; %d mail(s) kept for the next run" % (error, len(result["mails"]["waiting"])))
    return result["exit_code"]


if __name__ == "__main__":
    sys.exit(main())
