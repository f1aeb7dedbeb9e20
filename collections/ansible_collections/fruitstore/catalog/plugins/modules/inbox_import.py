#!/usr/bin/python
# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
module: inbox_import
short_description: Import every complete delivery waiting in a supplier's inbox, oldest first, and archive it
version_added: 1.2.0
description:
  - Looks at a supplier's inbox. It is either one delivery itself (C(images/) and C(descriptions/), the lab's layout)
    or a folder holding one sub-folder per delivery.
  - A delivery is taken only when it is complete, never while the supplier is still uploading. With O(ready_marker), it
    is complete once the supplier has written that file into it; otherwise once its files have been unchanged for
    O(settle_seconds). A delivery that is not complete is reported as waiting, with the reason, not as failed.
  - Each complete delivery, oldest first, is imported as M(fruitstore.catalog.delivery_import) imports one, in this
    same process - its images converted, what the store lacks uploaded, its page (C(delivery.html)) and the supplier's
    report (C(processed.pdf)) written in the delivery, the report mailed once to O(mail.to) as
    M(fruitstore.catalog.delivery_import) mails it. A delivery is identified in the store by the supplier and its name
    (see O(fruitstore.catalog.delivery_import#module:delivery_id)), C(<supplier>/<name>). A folder name used again
    once a delivery of that name was archived (a supplier who always uploads into C(current/)) is a delivery of its
    own, C(<supplier>/<name>#2) and so on. The identity is decided when the delivery is first imported and kept in its
    state (C(.fruitstore/delivery-id)).
  - A delivery imported whole (every item in the store, the mail sent or not owed) then moves to O(archive) with its
    page, its report and its state (C(.fruitstore/), what was converted, uploaded and mailed), so that the inbox shows
    only what is pending. A delivery with an item left out stays in the inbox and is tried again by the next run.
  - A delivery folder that is a symbolic link, or whose C(images/) or C(descriptions/) is one, is refused and said so
    (a failed delivery, with an alert) and never read, so that nothing out of the inbox is imported.
  - Nothing is lost or done twice when a run is killed at any point. A sub-folder moves with one rename. A flat inbox's
    parts move one by one behind a marker (C(.fruitstore-archiving)) that the next run finds and finishes.
  - One call imports one supplier (O(inbox) and O(supplier)), or every supplier of O(suppliers), in parallel, so that
    Ansible's cost of a module is paid once per run, not once per supplier or delivery. The role C(supplier_import)
    imports the suppliers of an inventory this way.
extends_documentation_fragment:
  - fruitstore.catalog._conversion
  - fruitstore.catalog._upload
  - fruitstore.catalog._store
  - fruitstore.catalog._publish
  - fruitstore.catalog._workers
  - fruitstore.catalog._mail
  - fruitstore.catalog._attributes
attributes:
  check_mode:
    support: full
    details:
      - Says which deliveries are complete, what would be converted, posted and mailed, and what would move to the
        archive; sends no POST and no mail and moves nothing. Writes each complete delivery's page, marked as a preview.
  diff_mode:
    support: none
  idempotent:
    support: full
    details: A second run finds the imported deliveries in the archive and nothing in the inbox to do.
options:
  inbox:
    description:
      - The supplier's inbox.
      - Required, with O(supplier), unless O(suppliers) is given.
    type: path
  supplier:
    description: The supplier's name, for the identity of its deliveries in the store, the page and the report.
    type: str
  suppliers:
    description:
      - Several suppliers to import in this one call, O(supplier_workers) at a time, their images converted on one
        pool of O(image_workers) processes. Each supplier's deliveries are still imported one after the other, oldest
        first.
      - Each element is a dict of this module's options for one supplier, at least O(supplier) and O(inbox), for
        example O(archive), O(store_url) or O(mail). An option an element does not give is this call's (O(archive)
        excepted, which is per inbox).
      - An element that is not valid, or whose inbox cannot be used, fails that supplier alone (see RV(suppliers) and
        RV(alerts)); the others are imported.
    type: list
    elements: dict
  supplier_workers:
    description: With O(suppliers), how many suppliers are imported at the same time.
    type: int
    default: 5
  archive:
    description:
      - Where imported deliveries go, one folder each, named after the delivery (a flat inbox's delivery after when its
        upload began, C(received-<UTC time>)). Created when missing; on the same file system as the inbox.
      - Defaults to a folder beside the inbox, C(<inbox>-archive).
    type: path
  settle_seconds:
    description: A delivery is complete once its files have been unchanged this long (unless O(ready_marker) is set).
    type: int
    default: 120
  ready_marker:
    description:
      - The name of a file the supplier writes into a delivery when it has finished uploading it, for example
        V(READY). When set, a delivery is complete when the file is there, however recently its files changed.
    type: str
  waiting_alert_seconds:
    description:
      - A delivery still not complete this long after its upload began needs a person (see RV(alerts)).
    type: int
    default: 86400
  summary_path:
    description:
      - Where to write the run's summary for machines, as JSON (atomically, its directory created when missing, only
        when it changed; not in check mode). It holds C(suppliers), one entry per supplier sorted by name (C(supplier),
        C(inbox), the names of its deliveries C(imported), C(waiting) and C(failed), C(error) when its import could not
        run, and C(deliveries) as in RV(deliveries)), and C(alerts) as in RV(alerts).
      - Written also when a library the import needs is missing, every supplier then with its C(error).
    type: path
    version_added: 1.3.0
  store_url:
    description:
      - Base URL of the store, for example V(http://localhost/) or V(https://store.example.com/).
      - The API is expected at C(fruits/) and C(upload/) below it, media at C(media/images/).
      - Required with O(inbox). With O(suppliers), each element may name its own store; an element that does not
        takes this one, and an element with neither cannot run.
      - A proxy from the environment and credentials from C(~/.netrc) are used as
        M(fruitstore.catalog.delivery_import) uses them.
    type: str
    required: false
requirements:
  - Pillow >= 11.0.0
  - requests
  - reportlab
author:
  - Fruit Store Operations (@fruitstore-ops)
seealso:
  - module: fruitstore.catalog.delivery_import
"""

EXAMPLES = r"""
- name: Import what Acme has delivered, mail Acme each report, archive each imported delivery
  fruitstore.catalog.inbox_import:
    inbox: /srv/inbox/acme
    supplier: acme
    store_url: https://store.example.com/
    api_token: "{{ vault_store_token }}"
    mail:
      to: [orders@acme.example]
      host: smtp.example.com
      port: 587
      security: starttls
      username: automation@example.com
      password: "{{ vault_smtp_password }}"
  register: acme

- name: Import three suppliers in one call, in parallel; beta has a relay of its own
  fruitstore.catalog.inbox_import:
    store_url: https://store.example.com/
    api_token: "{{ vault_store_token }}"
    mail:
      to: [orders@example.com]
      host: smtp.example.com
    suppliers:
      - {supplier: acme, inbox: /srv/inbox/acme, mail: {to: [orders@acme.example], host: smtp.example.com}}
      - {supplier: beta, inbox: /srv/inbox/beta, mail: {to: [stock@beta.example], host: relay.beta.example}}
      - {supplier: gamma, inbox: /srv/inbox/gamma, ready_marker: READY}
  register: run

- name: A supplier that writes READY when it has finished uploading a delivery
  fruitstore.catalog.inbox_import:
    inbox: /srv/inbox/beta
    supplier: beta
    ready_marker: READY
    archive: /srv/archive/beta
    store_url: http://localhost/
"""

RETURN = r"""
deliveries:
  description: Every delivery found in the inbox, oldest first, and what became of it.
  returned: when O(inbox) was given
  type: list
  elements: dict
  contains:
    name:
      description: The delivery's name (its folder, or C(received-<UTC time>) for a flat inbox).
      type: str
    path:
      description: Where the delivery is now, in the archive once imported.
      type: str
    state:
      description:
        - V(imported) (whole, moved to the archive; in check mode, would be), V(waiting) (not complete yet; see
          C(reason)) or V(failed) (an item left out or the store, relay or disk refused; it stays in the inbox).
      type: str
    reason:
      description: Why it waits, or why it failed.
      type: str
    waiting_seconds:
      description: For a waiting delivery, seconds since its upload began.
      type: int
    created:
      description: Names of the products this run posted (in check mode, would post).
      type: list
      elements: str
    present:
      description: How many of its products were already in the store.
      type: int
    listed:
      description: How many of its products the store lists from another delivery (see O(restock)).
      type: int
    pictures_restored:
      description: Image names of its products whose lost picture was uploaded again.
      type: list
      elements: str
    problems:
      description: Every item left out of the store, with its file and the cause, and a report mail that failed.
      type: list
      elements: dict
      contains:
        source: {description: "The file (an image, a description, the report) or the delivery.", type: str}
        name: {description: "The product's name, when its description could be read.", type: str}
        error: {description: The cause., type: str}
    total_weight:
      description: Total weight of the products this delivery brought into the store, in lbs.
      type: int
    mail:
      description: What became of the report mail (V(sent), V(already sent), ...).
      type: str
    posts:
      description: POST requests sent to the store for it.
      type: int
  sample:
    - {name: week-48, path: /srv/inbox-archive/acme/week-48, state: imported, created: [Cherry, Fig], present: 0,
       listed: 1, pictures_restored: [], problems: [], total_weight: 140, mail: sent, posts: 4}
    - {name: week-49, path: /srv/inbox/acme/week-49, state: waiting, waiting_seconds: 40,
       reason: "still being uploaded: changed 40 s ago, taken once unchanged for 120 s"}
alerts:
  description:
    - What needs a person, one entry per problem with a stable C(key) (the same problem has the same key on the next
      run) and a C(text) for people - an item left out of the store, a delivery the store, the relay or the disk
      refused, a delivery waiting longer than O(waiting_alert_seconds).
    - With O(suppliers), every supplier's, and one for each supplier whose import could not run.
  returned: always
  type: list
  elements: dict
  contains:
    key:
      description: What identifies the problem from one run to the next, C(<supplier>/<delivery>/<file>).
      type: str
    text:
      description: The problem, for people.
      type: str
  sample:
    - {key: "acme/week-48/002.txt", text: "acme, delivery week-48: 002.txt: weight 'five hundred' is not a number ..."}
counts:
  description: How many deliveries were imported whole and archived, are waiting, and failed (with O(suppliers), of
    every supplier).
  returned: always
  type: dict
  contains:
    imported:
      description: Imported whole and moved to the archive (in check mode, would be).
      type: int
    waiting:
      description: Not complete yet.
      type: int
    failed:
      description: Failed; they stay in the inbox.
      type: int
  sample: {imported: 2, waiting: 1, failed: 0}
archive:
  description: The archive.
  returned: when O(inbox) was given
  type: str
  sample: /srv/inbox/acme-archive
suppliers:
  description:
    - With O(suppliers), one entry per supplier, in the order given, with what this module returns for one supplier
      (RV(deliveries), RV(archive), RV(counts), RV(alerts)).
    - A supplier whose import could not run (an element that is not valid, an inbox that cannot be used) has
      C(failed), C(msg) and one alert, keyed by the supplier's name.
  returned: when O(suppliers) was given
  type: list
  elements: dict
  contains:
    supplier:
      description: The supplier's name.
      type: str
    inbox:
      description: Its inbox.
      type: str
    failed:
      description: V(true) when its import could not run.
      type: bool
    msg:
      description: Why its import could not run.
      type: str
  sample:
    - {supplier: acme, inbox: /srv/inbox/acme, archive: /srv/inbox/acme-archive, changed: true,
       counts: {imported: 1, waiting: 0, failed: 0}, alerts: [],
       deliveries: [{name: week-48, path: /srv/inbox/acme-archive/week-48, state: imported}]}
    - {supplier: beta, inbox: /srv/inbox/beta, failed: true, msg: inbox /srv/inbox/beta is not a directory,
       changed: false, counts: {imported: 0, waiting: 0, failed: 0}, deliveries: [],
       alerts: [{key: beta, text: "beta: the import did not run: inbox /srv/inbox/beta is not a directory"}]}
"""

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.fruitstore.catalog.plugins.module_utils import _images as images
from ansible_collections.fruitstore.catalog.plugins.module_utils import _suppliers as suppliers
from ansible_collections.fruitstore.catalog.plugins.module_utils._deps import first_problem
from ansible_collections.fruitstore.catalog.plugins.module_utils._files import displayable, write_json_if_changed
from ansible_collections.fruitstore.catalog.plugins.module_utils._report import reportlab_problem
from ansible_collections.fruitstore.catalog.plugins.module_utils._settings import Failed, Run
from ansible_collections.fruitstore.catalog.plugins.module_utils._store_api import requests_problem


def _planned(module, missing):
    """(name, inbox, settings) of each element of O(suppliers), checked, in the order given; an element that cannot
    run has the reason instead of settings."""
    one_supplier = suppliers.inbox_argument_spec().merge(dict(inbox=dict(type="path", required=True),
                                                              supplier=dict(type="str", required=True)))
    validator = ArgumentSpecValidator(one_supplier.argument_spec, **one_supplier.rules)
    planned = []
    for number, given in enumerate(module.params["suppliers"]):
        name, inbox_path = given.get("supplier") or "suppliers[%d]" % number, given.get("inbox")
        try:
            options, secrets = suppliers.supplier_options(module.params, validator, given)
            module.no_log_values.update(secrets)
            planned.append((name, inbox_path, missing[0] if missing else suppliers.InboxSettings.from_options(options)))
        except Failed as e:
            planned.append((name, inbox_path, str(e)))
    return planned


def main():
    spec = suppliers.inbox_argument_spec().merge(dict(
        suppliers=dict(type="list", elements="dict"),
        supplier_workers=dict(type="int", default=5),
        summary_path=dict(type="path"),
    ))
    spec.argument_spec["store_url"] = dict(spec.argument_spec["store_url"], required=False)  # or each supplier's
    module = spec.module(supports_check_mode=True, required_one_of=[("inbox", "suppliers")],
                         mutually_exclusive=[("inbox", "suppliers"), ("supplier", "suppliers")],
                         required_together=[("inbox", "supplier")], required_by={"inbox": "store_url"})
    params, run = module.params, Run.of(module)
    missing = first_problem(images.pillow_problem(), requests_problem(), reportlab_problem())
    if params["suppliers"] is None:
        if missing:
            module.fail_json(msg=missing[0], exception=missing[1])
        try:
            result = suppliers.import_inbox(run, suppliers.InboxSettings.from_options(params))
            entries = [dict(supplier=params["supplier"], inbox=params["inbox"], **result)]
        except Failed as e:
            module.fail_json(msg=str(e))
    else:
        if params["supplier_workers"] < 1:
            module.fail_json(msg="supplier_workers must be at least 1, not %d" % params["supplier_workers"])
        entries = suppliers.import_suppliers(run, _planned(module, missing), params["supplier_workers"],
                                             params["image_workers"], module.warn)
        result = suppliers.suppliers_result(entries)
    if params["summary_path"]:
        try:
            summary_changed = write_json_if_changed(run, params["summary_path"], suppliers.run_summary(entries),
                                                    "run's summary")
        except Failed as e:
            module.fail_json(msg=str(e), **displayable(result))
        result["changed"] = result["changed"] or summary_changed
    if missing:
        module.fail_json(msg=missing[0], exception=missing[1], **displayable(result))
    module.exit_json(**displayable(result))


if __name__ == "__main__":
    main()
