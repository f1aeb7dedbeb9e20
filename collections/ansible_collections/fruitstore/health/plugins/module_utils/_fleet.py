# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.health collection; not a public API.
#
# The fleet's health, for the module fleet_health_report: what each host answered to health_check --json --dry-run
# (interface version 1, documented in the health_monitor role's README) read and checked, a row per host worst first,
# and the same as a text table, as fleet.json and as a static page, fleet.html. Plain values in, plain values out:
# the module reads its parameters, writes the files and exits.

from __future__ import annotations

import datetime
import json
from html import escape

JSON_VERSION = 1  # of health_check --json, the one this report reads
# Worst first: a host nobody can reach, one that is unhealthy (or whose cron job stopped), one nothing is known of.
ORDER = ("UNREACHABLE", "CRITICAL", "UNKNOWN", "OK")


class FleetError(Exception):
    """A host's answer that says it is version 1 of health_check --json but is not what version 1 prints (a key
    missing, a value of another type, a status the report does not know); the text names the host, the setting and
    the cause. The module fails with it."""

    def __init__(self, message, host=None):
        super().__init__(message)
        self.host = host


class FleetReport:
    """The fleet's rows, worst first (as fleet.json holds them and the module returns them), and the texts made of
    them: the table, fleet.json and fleet.html."""

    def __init__(self, rows, table, document, page):
        self.rows = rows
        self.table = table
        self.document = document
        self.page = page

    @property
    def summary(self):
        return summary(self.rows)

    @property
    def not_ok(self):
        """['web5 (UNREACHABLE)', 'web3 (CRITICAL)', ...], worst first."""
        return ["%s (%s)" % (found["host"], found["status"]) for found in self.rows if found["status"] != "OK"]


def utc(timestamp):
    if timestamp is None:
        return None
    return datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def ago(seconds):
    seconds = max(0, int(seconds))
    if seconds < 300:
        return "%d s ago" % seconds
    if seconds < 7200:
        return "%d min ago" % (seconds // 60)
    if seconds < 172800:
        return "%d h ago" % (seconds // 3600)
    return "%d days ago" % (seconds // 86400)


def when(timestamp, now):
    """'16:31 UTC (4 min ago)', with the date once it is a day old."""
    moment = datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc)
    shown = moment.strftime("%H:%M UTC" if now - timestamp < 72000 else "%Y-%m-%d %H:%M UTC")
    return "%s (%s)" % (shown, ago(now - timestamp))


# What reading a version 1 answer that is not one raises: a key missing (KeyError), a value of another type
# (TypeError, AttributeError), a time that is no time (ValueError, OverflowError, OSError from fromtimestamp).
_NOT_VERSION_1 = (LookupError, TypeError, AttributeError, ValueError, ArithmeticError, OSError)


def row(host):
    """What is known of one host, as fleet.json holds it. host is an item of the module's hosts, every key present
    (name, unreachable, deployed, script, rc, stdout, stderr, reason). Raises FleetError for an answer that says it
    is version 1 but is not what version 1 prints."""
    found = {"host": host["name"], "status": "UNKNOWN", "problems": [], "checks": [], "alerts": [], "last_run": None,
             "last_run_age_seconds": None, "last_status": None, "schedule": None, "overdue": None,
             "mails_waiting": None, "time": None, "report": None}
    if host["unreachable"]:
        found["status"] = "UNREACHABLE"
        found["problems"].append("unreachable: %s" % (host["reason"].strip() or "Ansible could not connect"))
        return found
    if not host["deployed"]:
        found["problems"].append("health_check is not deployed (no %s)" % host["script"])
        return found
    if host["rc"] is None and not host["stdout"]:
        found["problems"].append("could not run %s: %s" % (host["script"], host["reason"].strip() or "no reason given"))
        return found
    try:
        report = json.loads(host["stdout"])
    except ValueError:
        said = (host["stderr"] or host["stdout"] or host["reason"]).strip().splitlines()
        found["problems"].append("%s gave no JSON (exit code %s)%s"
                                 % (host["script"], host["rc"], ": " + said[-1] if said else ""))
        return found
    if not isinstance(report, dict) or report.get("version") != JSON_VERSION:
        found["problems"].append("%s speaks another --json version (%r; this report reads version %d)"
                                 % (host["script"], report.get("version") if isinstance(report, dict) else report,
                                    JSON_VERSION))
        return found
    try:
        return _read_version_1(found, report)
    except _NOT_VERSION_1 as e:
        cause = "it has no key %s" % e if isinstance(e, KeyError) else str(e)
        raise FleetError("The answer of the host %s (hosts[].stdout) is not what %s --json version %d prints: %s"
                         % (host["name"], host["script"], JSON_VERSION, cause), host=host["name"]) from e


def _read_version_1(found, report):
    """found, completed from report (a version 1 answer). Raises one of _NOT_VERSION_1 when report is not one: for
    each value the table or the page could not show, too."""
    found["report"] = report
    found["time"] = utc(report["time"])
    if report["status"] == "UNKNOWN":
        if not isinstance(report["error"], str):
            raise TypeError("its error is %r, not a text" % (report["error"],))
        found["problems"].append(report["error"])
        return found
    now, cron = report["time"], report["cron"]
    found.update(status=report["status"], mails_waiting=len(report["mails"]["waiting"]), schedule=cron["schedule"],
                 overdue=cron["overdue"], last_status=cron["last_status"], last_run=utc(cron["last_run"]),
                 checks=[{"name": c["name"], "reading": c["reading"], "failed": c["failed"]} for c in report["checks"]])
    for check in found["checks"]:
        if not isinstance(check["name"], str) or not isinstance(check["reading"], str):
            raise TypeError("its check %r has a name or a reading that is not a text" % (check,))
    if cron["last_run"] is not None:
        found["last_run_age_seconds"] = round(now - cron["last_run"], 1)
    found["alerts"] = [{"check": a["check"], "problem": a["problem"], "alerted_at": utc(a["alerted_at"]),
                        "failing_since": utc(a["failing_since"]), "since": when(a["alerted_at"], now)
                        if a["alerted_at"] is not None else "a time not recorded"} for a in report["alerts"]]
    found["problems"] = ["%s: %s (%s)" % (c["name"], c["reading"], c["problem"]) for c in report["checks"]
                         if c["failed"]]
    if cron["overdue"]:
        found["status"] = "CRITICAL"
        found["problems"].append("the cron job is overdue: %s; on its schedule (%s) a run older than %s is late"
                                 % ("last run " + when(cron["last_run"], now) if cron["last_run"] is not None
                                    else "no run since its config was written", cron["schedule"],
                                    ago(cron["overdue_after"])[:-4]))
    if found["status"] not in ORDER:
        raise ValueError("its status is %r, none of %s" % (found["status"], ", ".join(ORDER)))
    return found


def cells(found, columns):
    """The table's cells of one row, as text."""
    readings = {check["name"]: ("FAILED " if check["failed"] else "") + check["reading"] for check in found["checks"]}
    alerts = ", ".join("%s since %s" % (alert["check"], alert["since"]) for alert in found["alerts"]) or "-"
    if found["report"] is None or found["status"] == "UNKNOWN" and not found["checks"]:
        cron = "-"
    elif found["last_run"] is None:
        cron = "never"
    else:
        cron = when(found["report"]["cron"]["last_run"], found["report"]["time"])
    if found["overdue"]:
        cron += ", OVERDUE"
    waiting = "-" if found["mails_waiting"] is None else str(found["mails_waiting"])
    return [found["host"], found["status"]] + [readings.get(column, "-") for column in columns] + [alerts, cron, waiting]


def check_columns(rows):
    columns = []
    for found in rows:
        columns += [check["name"] for check in found["checks"] if check["name"] not in columns]
    return columns


def summary(rows):
    counts = {status: sum(1 for found in rows if found["status"] == status) for status in ORDER}
    return dict(counts, total=len(rows))


def counted(rows):
    """'6 hosts, 4 not OK (1 UNREACHABLE, 2 CRITICAL, 1 UNKNOWN)' or '6 hosts, all OK'."""
    counts = summary(rows)
    bad = [(status, counts[status]) for status in ORDER[:-1] if counts[status]]
    state = "%d not OK (%s)" % (sum(n for _s, n in bad), ", ".join("%d %s" % (n, s) for s, n in bad)) if bad else "all OK"
    return "%d host%s, %s" % (len(rows), "" if len(rows) == 1 else "s", state)


def text_table(title, rows, columns, generated):
    header = ["host", "status"] + columns + ["open alerts", "cron's last run", "mails waiting"]
    lines = [header] + [cells(found, columns) for found in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out = ["%s: %s, %s" % (title, counted(rows), generated), ""]
    out += ["  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip() for line in lines]
    problems = ["%s: %s" % (found["host"], problem) for found in rows for problem in found["problems"]]
    if problems:
        out += [""] + problems
    return "\n".join(out)


STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; }
h1 { margin-bottom: .2rem; } p.summary { color: #555; margin-top: 0; }
table { border-collapse: collapse; } th, td { text-align: left; padding: .35rem .7rem; border-bottom: 1px solid #ddd; }
th { background: #f3f3f3; } .failed { color: #a11; font-weight: bold; }
.status { display: inline-block; padding: .1rem .5rem; border-radius: 1rem; font-size: .85rem; font-weight: bold; }
tr.OK { background: #f3fbf4; } tr.CRITICAL { background: #fdf1f1; } tr.UNKNOWN { background: #fefaec; }
tr.UNREACHABLE { background: #ececec; } span.OK { background: #c9efd1; } span.CRITICAL { background: #f5c2c2; }
span.UNKNOWN { background: #f8e3a0; } span.UNREACHABLE { background: #444; color: #fff; }
ul.problems { margin: .2rem 0 0 0; padding-left: 1.2rem; color: #a11; }
"""


def html_page(title, rows, columns, generated):
    head = "".join("<th>%s</th>" % escape(name) for name in ["host", "status"] + columns
                   + ["open alerts", "cron's last run", "mails waiting"])
    body = []
    for found in rows:
        texts = cells(found, columns)
        failed = {check["name"] for check in found["checks"] if check["failed"]}
        tds = ['<th scope="row">%s</th>' % escape(texts[0]),
               '<td><span class="status %s">%s</span>%s</td>' % (
                   found["status"], escape(found["status"]),
                   '<ul class="problems">%s</ul>' % "".join("<li>%s</li>" % escape(p) for p in found["problems"])
                   if found["problems"] else "")]
        tds += ['<td%s>%s</td>' % (' class="failed"' if column in failed else "", escape(text))
                for column, text in zip(columns, texts[2:])]
        tds += ["<td>%s</td>" % escape(text) for text in texts[2 + len(columns):]]
        body.append('<tr class="%s">%s</tr>' % (found["status"], "".join(tds)))
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>%s</title><style>%s</style></head>'
            '<body><h1>%s</h1><p class="summary">%s, %s</p><table><thead><tr>%s</tr></thead><tbody>\n%s\n</tbody>'
            '</table></body></html>\n' % (escape(title), STYLE, escape(title), escape(counted(rows)),
                                          escape(generated), head, "\n".join(body)))


def fleet_report(hosts, title, now):
    """The FleetReport of hosts (the module's hosts: what each host answered), titled title, made at now (seconds
    since the epoch). Raises FleetError for a host whose answer says it is version 1 but is not."""
    rows = sorted((row(host) for host in hosts), key=lambda found: (ORDER.index(found["status"]), found["host"]))
    columns = check_columns(rows)
    generated = "made %s" % datetime.datetime.fromtimestamp(now, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    document = {"version": 1, "title": title, "generated": utc(now), "summary": summary(rows), "hosts": rows}
    return FleetReport(rows, text_table(title, rows, columns, generated),
                       json.dumps(document, indent=1, sort_keys=True) + "\n", html_page(title, rows, columns, generated))
