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

import os
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.fruitstore.health.plugins.module_utils._files import WriteError, write_if_changed
from ansible_collections.fruitstore.health.plugins.module_utils._fleet import FleetError, fleet_report


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
    try:
        fleet = fleet_report(module.params["hosts"], module.params["title"], time.time())
    except FleetError as e:
        module.fail_json(msg=str(e))
    json_path, html_path = os.path.join(output_dir, "fleet.json"), os.path.join(output_dir, "fleet.html")
    if not module.check_mode:
        try:
            os.makedirs(output_dir, exist_ok=True)
        except OSError as e:
            module.fail_json(msg="Cannot create the directory %s: %s" % (output_dir, e))
    if not module.check_mode or os.path.isdir(output_dir):
        try:
            changed = write_if_changed(json_path, to_bytes(fleet.document), "fleet report", module.check_mode,
                                       module.atomic_move)
            changed = write_if_changed(html_path, to_bytes(fleet.page), "fleet page", module.check_mode,
                                       module.atomic_move) or changed
        except WriteError as e:
            module.fail_json(msg=str(e))
    else:
        changed = True
    module.exit_json(changed=changed, table=fleet.table, hosts=fleet.rows, summary=fleet.summary, not_ok=fleet.not_ok,
                     json_path=json_path, html_path=html_path)


if __name__ == "__main__":
    main()
