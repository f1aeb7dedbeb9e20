#!/usr/bin/python
# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: fleet_health_report
short_description: One table of every web server's health, from each host's health_check --json --dry-run
version_added: 1.3.0
description:
  - Reads what each host of the fleet answered to C(health_check --json --dry-run) (the JSON interface version 1
    of the health_monitor role's script), and makes one table of it, a row per host, worst first, with the host's status
    (C(OK), C(CRITICAL), C(UNKNOWN) or C(UNREACHABLE)), each check's reading, the open alerts and since when, the
    last run of the cron job and whether the next one is overdue, and the mails waiting for the relay.
  - A host whose cron job is overdue is C(CRITICAL) even when its checks pass, since nobody would be mailed about it.
    A host that was unreachable, has no C(health_check), or answered no usable JSON is a row that says so.
  - Writes the same as C(fleet.json) and as a static page, C(fleet.html), in O(output_dir).
  - Runs on the control node (C(delegate_to=localhost), C(run_once=true)), with what the hosts' tasks registered.
extends_documentation_fragment:
  - fruitstore.health._attributes
attributes:
  check_mode:
    support: full
    details: Makes the table and returns it; writes no file.
  diff_mode:
    support: none
  idempotent:
    support: partial
    details: The files are written whenever their content differs, which it does on every run (the readings and the
      time change).
options:
  hosts:
    description: One item per host, as the hosts' tasks found it.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The host's inventory name.
        type: str
        required: true
      unreachable:
        description: Ansible could not reach the host.
        type: bool
        default: false
      deployed:
        description: C(health_check) is installed on the host (at O(hosts[].script)).
        type: bool
        default: true
      script:
        description: Where C(health_check) is (or was looked for) on the host.
        type: str
        default: /usr/local/bin/health_check
      rc:
        description: Exit code of C(health_check --json --dry-run); none when it could not be run (O(hosts[].reason) says why).
        type: int
      stdout:
        description: What it printed (its JSON).
        type: str
        default: ""
      stderr:
        description: What it printed on standard error.
        type: str
        default: ""
      reason:
        description: Why the host could not be reached or the command not run, as Ansible said it.
        type: str
        default: ""
  output_dir:
    description:
      - Directory of C(fleet.json) and C(fleet.html); created when missing. The files are written with the
        control node user's umask, readable as the directory allows.
    type: path
    required: true
  title:
    description: Title of the table and the page.
    type: str
    default: Fleet health
author:
  - Fruit Store Operations (@fruitstore-ops)
seealso:
  - name: The health_monitor role's README
    description: The JSON interface of C(health_check --json), key by key.
    link: https://github.com/fruitstore/catalog/blob/main/collections/ansible_collections/fruitstore/health/roles/health_monitor/README.md
"""

EXAMPLES = r"""
- name: Make the fleet's table, fleet.json and fleet.html from what every host of the play answered
  fruitstore.health.fleet_health_report:
    hosts: "{{ ansible_play_hosts_all | map('extract', hostvars, '__fleet_health_probe') | list }}"
    output_dir: /var/www/fleet
  run_once: true
  delegate_to: localhost
  register: fleet

- name: Two hosts given by hand, one that answered and one that could not be reached
  fruitstore.health.fleet_health_report:
    hosts:
      - name: web1
        rc: "{{ web1_answer.rc }}"
        stdout: "{{ web1_answer.stdout }}"
      - name: web2
        unreachable: true
        reason: "Failed to connect to the host via ssh: No route to host"
    output_dir: "{{ playbook_dir }}/fleet"
    title: Web servers
  delegate_to: localhost
"""

RETURN = r"""
table:
  description:
    - The table as text (a header line, a row per host worst first, then why each host that is not OK is not), for
      C(ansible.builtin.debug) to print (the project's fleet_health role does).
  returned: always
  type: str
  sample: |-
    Fleet health: 2 hosts, 1 not OK (1 CRITICAL)
    host  status    cpu        disk /      memory             localhost               open alerts   cron's last run    mails waiting
    web2  CRITICAL  3.1% used  31.0% free  FAILED 90MB avail  resolves to 127.0.0.1   memory since  16:31 UTC (20 s)   0
hosts:
  description: A row per host, worst first, as in C(fleet.json).
  returned: always
  type: list
  elements: dict
  contains:
    host:
      description: The host's inventory name.
      type: str
    status:
      description: C(OK), C(CRITICAL), C(UNKNOWN) or C(UNREACHABLE).
      type: str
    problems:
      description: Why the host is not OK, a sentence each; empty when it is.
      type: list
      elements: str
    checks:
      description: Each check's C(name), C(reading) and whether it C(failed).
      type: list
      elements: dict
      contains:
        name:
          description: The check, for example V(cpu) or V(disk /).
          type: str
        reading:
          description: What it read, as text.
          type: str
        failed:
          description: Whether it failed.
          type: bool
    alerts:
      description:
        - The open alerts, each with its C(check), C(problem), C(alerted_at) and C(failing_since) (UTC, ISO 8601, or
          null when the host's state file did not record it), and C(since), the same as text for people.
      type: list
      elements: dict
      contains:
        check:
          description: The check whose alert is open.
          type: str
        problem:
          description: The alert's text.
          type: str
        alerted_at:
          description: When it was first mailed (UTC, ISO 8601), or null.
          type: str
        failing_since:
          description: Since when the check fails (UTC, ISO 8601), or null.
          type: str
        since:
          description: The same, as text for people.
          type: str
    time:
      description: When the host measured (UTC, ISO 8601, by its clock).
      type: str
    schedule:
      description: The cron job's schedule, as the host's config states it.
      type: str
    last_status:
      description: The status of the cron job's last run.
      type: str
    last_run:
      description: When the cron job last ran (UTC, ISO 8601), or null when it never did or nothing is known.
      type: str
    last_run_age_seconds:
      description: How long ago, by the host's clock.
      type: float
    overdue:
      description: The cron job's next run is overdue; null when nothing is known.
      type: bool
    mails_waiting:
      description: Mails waiting in the host's spool for the relay; null when nothing is known.
      type: int
    report:
      description: The host's C(health_check --json) output as it was, or null; its keys are documented in the
        health_monitor role's README (version 1).
      type: dict
      contains:
        version:
          description: The version of the JSON interface.
          type: int
summary:
  description: How many hosts have each status, and in all.
  returned: always
  type: dict
  contains:
    total:
      description: How many hosts.
      type: int
    OK:
      description: How many are OK (likewise C(CRITICAL), C(UNKNOWN), C(UNREACHABLE)).
      type: int
  sample: {"total": 6, "OK": 3, "CRITICAL": 1, "UNKNOWN": 1, "UNREACHABLE": 1}
not_ok:
  description: The hosts that are not OK, worst first, each as C(host (STATUS)).
  returned: always
  type: list
  elements: str
  sample: ["web5 (UNREACHABLE)", "web3 (CRITICAL)"]
json_path:
  description: Path of C(fleet.json).
  returned: always
  type: str
html_path:
  description: Path of C(fleet.html).
  returned: always
  type: str
"""

import datetime
import json
import os
import time
from html import escape

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.fruitstore.health.plugins.module_utils._files import write_if_changed

JSON_VERSION = 1  # of health_check --json, the one this report reads
# Worst first: a host nobody can reach, one that is unhealthy (or whose cron job stopped), one nothing is known of.
ORDER = ("UNREACHABLE", "CRITICAL", "UNKNOWN", "OK")


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


def row(host):
    """What is known of one host, as fleet.json holds it."""
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
    found["report"] = report
    found["time"] = utc(report["time"])
    if report["status"] == "UNKNOWN":
        found["problems"].append(report["error"])
        return found
    now, cron = report["time"], report["cron"]
    found.update(status=report["status"], mails_waiting=len(report["mails"]["waiting"]), schedule=cron["schedule"],
                 overdue=cron["overdue"], last_status=cron["last_status"], last_run=utc(cron["last_run"]),
                 checks=[{"name": c["name"], "reading": c["reading"], "failed": c["failed"]} for c in report["checks"]])
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


def report(hosts, title, now=None):
    """(rows worst first, text table, fleet.json text, fleet.html text)."""
    now = time.time() if now is None else now
    rows = sorted((row(host) for host in hosts), key=lambda found: (ORDER.index(found["status"]), found["host"]))
    columns = check_columns(rows)
    generated = "made %s" % datetime.datetime.fromtimestamp(now, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    document = {"version": 1, "title": title, "generated": utc(now), "summary": summary(rows), "hosts": rows}
    return (rows, text_table(title, rows, columns, generated), json.dumps(document, indent=1, sort_keys=True) + "\n",
            html_page(title, rows, columns, generated))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            hosts=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                unreachable=dict(type="bool", default=False),
                deployed=dict(type="bool", default=True),
                script=dict(type="str", default="/usr/local/bin/health_check"),
                rc=dict(type="int"),
                stdout=dict(type="str", default=""),
                stderr=dict(type="str", default=""),
                reason=dict(type="str", default=""),
            )),
            output_dir=dict(type="path", required=True),
            title=dict(type="str", default="Fleet health"),
        ),
        supports_check_mode=True,
    )
    output_dir = os.path.normpath(module.params["output_dir"])
    rows, table, document, page = report(module.params["hosts"], module.params["title"])
    json_path, html_path = os.path.join(output_dir, "fleet.json"), os.path.join(output_dir, "fleet.html")
    changed = False
    if not module.check_mode:
        try:
            os.makedirs(output_dir, exist_ok=True)
        except OSError as e:
            module.fail_json(msg="Cannot create the directory %s: %s" % (output_dir, e))
    if not module.check_mode or os.path.isdir(output_dir):
        changed = write_if_changed(module, json_path, to_bytes(document), "fleet report")
        changed = write_if_changed(module, html_path, to_bytes(page), "fleet page") or changed
    else:
        changed = True
    module.exit_json(changed=changed, table=table, hosts=rows, summary=summary(rows), json_path=json_path,
                     html_path=html_path, not_ok=["%s (%s)" % (found["host"], found["status"]) for found in rows
                                                  if found["status"] != "OK"])


if __name__ == "__main__":
    main()
