#!/usr/bin/python
# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: import_alert
short_description: Tell the operations team once what needs a person, remind while it lasts, say when it is gone
version_added: 1.2.0
author:
  - Fruit Store Operations (@fruitstore-ops)
seealso:
  - module: fruitstore.catalog.inbox_import
    description: Its RV(fruitstore.catalog.inbox_import#module:alerts) are what this module takes.
  - module: fruitstore.catalog.report_mail
description:
  - Takes the problems of a run (O(alerts)), each with a key that is the same from one run to the next, and compares
    them with what it recorded in O(state_path) of the mails it sent before.
  - A key not recorded yet is B(new). A recorded key still in O(alerts) whose last mail is O(reminder_hours) old or
    older is due for a B(reminder). A recorded key no longer in O(alerts) has B(recovered).
  - "When anything is new, due for a reminder or recovered, it sends B(one) message to O(mail.to) that lists them (and
    the problems still open that were mailed before), for example C(Supplier import: 2 problems need a person) or
    C(Supplier import: recovered acme/week-48/002.txt; nothing needs a person). When nothing changed it sends nothing."
  - The mail is recorded in O(state_path) only after the relay took it. A relay that is down fails the module, naming
    the relay and the cause, and records nothing, so that the next run tries again with the same news.
  - Two runs with the same O(state_path) take turns (a lock file beside it, C(<state_path>.lock)); the second reads what
    the first recorded, so two runs at once never both mail.
  - A state file that is damaged (not JSON, binary, V(null), or not the shape this module writes) is named in a warning,
    set aside as C(<state_path>.damaged-<UTC time>) and rebuilt. What it remembered is lost, so every problem still open
    is mailed once more, as new, and a problem that cleared meanwhile gets no recovery mail.
extends_documentation_fragment:
  - fruitstore.catalog._mail
  - fruitstore.catalog._attributes
attributes:
  check_mode:
    support: full
    details:
      - Tells what would be mailed (RV(subject) and RV(body)) and warns about a damaged state; sends nothing, takes no
        lock and changes no file.
  diff_mode:
    support: none
  idempotent:
    support: partial
    details:
      - A second run with the same O(alerts) sends nothing, unless a reminder came due in between
        (O(reminder_hours) after the last mail).
options:
  alerts:
    description:
      - The problems of this run that need a person, for example the RV(fruitstore.catalog.inbox_import#module:alerts) of
        every supplier. An empty list means that nothing needs a person (every recorded problem has recovered).
    type: list
    elements: dict
    required: true
    suboptions:
      key:
        description:
          - What identifies the problem from one run to the next, for example V(acme/week-48/002.txt). A key given twice
            is one problem.
        type: str
        required: true
      text:
        description: The problem, for people.
        type: str
        required: true
  state_path:
    description:
      - What the alerts remember between runs, the open problems with when each was first and last mailed (JSON).
        Its directory is created when missing; keep it between runs.
    type: path
    default: ~/.local/state/fruitstore/import-alerts.json
  reminder_hours:
    description: Hours after its last mail when a problem that lasts is mailed again. Must be more than V(0).
    type: float
    default: 24
  summary:
    description:
      - The run's summary for machines, written as JSON to O(summary_path) in the same call. Written with or without
        O(mail).
      - Deprecated, to be removed in 2.0.0. M(fruitstore.catalog.inbox_import) writes the run's summary itself (its
        O(fruitstore.catalog.inbox_import#module:summary_path)).
    type: dict
  summary_path:
    description:
      - Where O(summary) is written (atomically; its directory is created when missing).
      - Deprecated, to be removed in 2.0.0, with O(summary).
    type: path
  subject_prefix:
    description: What the subject of every message begins with.
    type: str
    default: Supplier import
"""

EXAMPLES = r"""
- name: Tell the operations team what the import of every supplier left needing a person
  fruitstore.catalog.import_alert:
    alerts: "{{ acme.alerts + beta.alerts }}"
    mail:
      to: [ops@example.com]
      host: smtp.example.com
      port: 587
      security: starttls
      username: automation@example.com
      password: "{{ vault_smtp_password }}"
  delegate_to: localhost
  register: told

- name: Remind every four hours, with a subject of its own
  fruitstore.catalog.import_alert:
    alerts:
      - key: acme/week-48/002.txt
        text: "acme, delivery week-48: 002.txt: weight 'sixty pounds' is not a number"
    reminder_hours: 4
    subject_prefix: "[store] Supplier import"
    state_path: /var/lib/fruitstore/import-alerts.json
    mail:
      to: [ops@example.com]
"""

RETURN = r"""
new:
  description: Keys of the problems mailed for the first time (in check mode, that would be).
  returned: always
  type: list
  elements: str
  sample: [acme/week-48/002.txt]
reminded:
  description: Keys of the problems mailed again because they lasted O(reminder_hours) since their last mail.
  returned: always
  type: list
  elements: str
  sample: [beta/2026-11-27/waiting]
recovered:
  description: Keys of the problems mailed before that are no longer in O(alerts), mailed as recovered.
  returned: always
  type: list
  elements: str
  sample: [gamma/first/003.txt]
open:
  description: How many problems need a person now (the distinct keys of O(alerts)).
  returned: always
  type: int
  sample: 2
sent:
  description: Whether this run sent a message (in check mode, would send one).
  returned: always
  type: bool
  sample: true
subject:
  description: Subject of the message sent (in check mode, that would be sent); empty when there is none.
  returned: always
  type: str
  sample: "Supplier import: 2 problems need a person, 1 recovered"
body:
  description: Text of the message sent (in check mode, that would be sent); empty when there is none.
  returned: always
  type: str
  sample: "What the supplier import on ctl1 found needing a person.\n\nNew (1):\n  acme, delivery week-48: ..."
"""

from ansible_collections.fruitstore.catalog.plugins.module_utils import _alerts as alerts
from ansible_collections.fruitstore.catalog.plugins.module_utils._files import write_json_if_changed
from ansible_collections.fruitstore.catalog.plugins.module_utils._mail import MailSettings, mail_argument_spec
from ansible_collections.fruitstore.catalog.plugins.module_utils._settings import Failed, Run, SettingsError


def main():
    module = mail_argument_spec().merge(dict(
        alerts=dict(type="list", elements="dict", required=True, options=dict(
            key=dict(type="str", required=True, no_log=False),
            text=dict(type="str", required=True),
        )),
        state_path=dict(type="path", default="~/.local/state/fruitstore/import-alerts.json"),
        reminder_hours=dict(type="float", default=24),
        subject_prefix=dict(type="str", default="Supplier import"),
        # inbox_import writes the run's summary itself since 1.3.0.
        summary=dict(type="dict", removed_in_version="2.0.0", removed_from_collection="fruitstore.catalog"),
        summary_path=dict(type="path", removed_in_version="2.0.0", removed_from_collection="fruitstore.catalog"),
    )).module(supports_check_mode=True, required_together=[("summary", "summary_path")])
    params, run = module.params, Run.of(module)
    try:
        if params["reminder_hours"] <= 0:
            raise SettingsError("reminder_hours must be more than 0, not %g" % params["reminder_hours"])
        mail = MailSettings.from_options(params["mail"], "alert mail") if params["mail"] else None
        summary_changed = write_json_if_changed(run, params["summary_path"], params["summary"], "run's summary") \
            if params["summary_path"] else False
        if mail is None:
            module.exit_json(changed=summary_changed, new=[], reminded=[], recovered=[], sent=False, subject="",
                             body="", open=len(set(alert["key"] for alert in params["alerts"])))
        result = alerts.notify(run, mail, params["alerts"], params["state_path"], params["reminder_hours"],
                               params["subject_prefix"])
    except Failed as e:
        module.fail_json(msg=str(e), **e.result)
    except OSError as e:  # the lock: its directory cannot be made, or another run holds it too long
        module.fail_json(msg="Cannot lock the alert state %s: %s" % (params["state_path"], e))
    result["changed"] = result["changed"] or summary_changed
    module.exit_json(**result)


if __name__ == "__main__":
    main()
