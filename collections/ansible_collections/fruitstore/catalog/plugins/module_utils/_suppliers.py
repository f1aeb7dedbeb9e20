# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.catalog collection; not a public API.
#
# The inbox_import module's work: every complete delivery of a supplier's inbox imported as delivery_import imports
# one, then archived; several suppliers at once, their images converted on one shared pool; and the run's summary for
# machines and the problems that need a person.

from __future__ import annotations

import concurrent.futures
import dataclasses
import os
import time
import traceback

from ansible_collections.fruitstore.catalog.plugins.module_utils import _catalog_sync as sync
from ansible_collections.fruitstore.catalog.plugins.module_utils import _conversion as conversion
from ansible_collections.fruitstore.catalog.plugins.module_utils import _delivery as delivery
from ansible_collections.fruitstore.catalog.plugins.module_utils import _inbox as inbox
from ansible_collections.fruitstore.catalog.plugins.module_utils._argspec import secret_values
from ansible_collections.fruitstore.catalog.plugins.module_utils._settings import DeliveryPaths, Failed, SettingsError

# Options that belong to one inbox: an element of O(suppliers) never inherits them from the call.
PER_INBOX = ("inbox", "supplier", "archive")
STATES = ("imported", "waiting", "failed")


def inbox_argument_spec():
    """The options of one supplier's import: all of inbox_import's but suppliers, supplier_workers and summary_path."""
    return sync.upload_settings_spec().merge(conversion.conversion_settings_spec()).merge(
        delivery.publish_argument_spec()).merge(delivery.workers_argument_spec()).merge(dict(
            inbox=dict(type="path"),
            supplier=dict(type="str"),
            archive=dict(type="path"),
            settle_seconds=dict(type="int", default=120),
            waiting_alert_seconds=dict(type="int", default=86400),
            ready_marker=dict(type="str"),
        ))


@dataclasses.dataclass(frozen=True)
class InboxSettings:
    """One supplier's import: its name, its inbox and archive, when a delivery there is complete (settle_seconds, or
    the supplier's ready_marker), when a waiting one needs a person, and how each delivery is imported."""

    supplier: str
    inbox: str
    archive: str
    settle_seconds: int
    waiting_alert_seconds: int
    ready_marker: str | None
    report_date: str | None
    deliveries: delivery.ImportSettings

    @classmethod
    def from_options(cls, options):
        """The settings of one supplier's options (inbox_argument_spec); raises SettingsError naming the option."""
        marker = options["ready_marker"]
        if marker and (os.sep in marker or marker in (".", "..")):
            raise SettingsError("ready_marker must be a file name, not a path: %s" % marker)
        archive = options["archive"] or os.path.normpath(options["inbox"]) + "-archive"
        return cls(options["supplier"], options["inbox"], archive, options["settle_seconds"],
                   options["waiting_alert_seconds"], marker, options["report_date"],
                   delivery.ImportSettings.from_options(options))


def supplier_options(call, validator, given):
    """One element of O(suppliers) over this call's options (call), checked as the module checks its own (validator,
    an ArgumentSpecValidator of one supplier's options). Returns the options and the values among them that are
    secrets (for the module's no_log_values); raises SettingsError saying what is wrong."""
    options = {name: call[name] for name in validator.argument_spec
               if name not in PER_INBOX and call.get(name) is not None}
    options.update(given)
    checked = validator.validate(options)
    secrets = secret_values(validator.argument_spec, checked.validated_parameters)
    if checked.error_messages:
        raise SettingsError("; ".join(checked.error_messages))
    return checked.validated_parameters, secrets


def _paths(settings, found, delivery_id, check_mode):
    """Where one delivery of the inbox is, and where what the import makes of it goes: all inside the delivery."""
    state = os.path.join(found.path, inbox.STATE)
    return DeliveryPaths(
        images_dir=os.path.join(found.path, "images"), descriptions_dir=os.path.join(found.path, "descriptions"),
        manifest=os.path.join(state, "images.json"),
        progress_log=None if check_mode else os.path.join(state, "progress.log"),
        journal=os.path.join(state, "uploads.jsonl"), delivery_id=delivery_id,
        page_path=os.path.join(found.path, "delivery.html"),
        page_title="Supplier %s, delivery %s" % (settings.supplier, found.name),
        report_path=os.path.join(found.path, "processed.pdf"), report_date=settings.report_date,
        report_heading="Supplier %s, delivery %s (received %s)" % (settings.supplier, found.name, found.received()),
        sent_log=os.path.join(state, "sent-mail.json"))


def _import(run, settings, found, pool):
    """Import one complete delivery and archive it when it is whole; returns (its entry, whether anything changed)."""
    entry = dict(name=found.name, path=found.path)
    started = time.time()
    try:
        delivery_id = inbox.identity(found, settings.supplier, settings.archive, run.check_mode)
        paths = _paths(settings, found, delivery_id, run.check_mode)
        result = delivery.import_delivery(run, paths, settings.deliveries, pool)
    except Failed as e:
        return dict(entry, state="failed", reason=str(e), problems=[{"source": found.path, "error": str(e)}]), False
    problems = result["errors"] + result["conflicts"]
    if result["mail"].get("error"):
        problems.append({"source": paths.report_path, "error": result["mail"]["error"]})
    entry.update(created=result["created"], present=len(result["present"]), listed=len(result["listed"]),
                 pictures_restored=result["pictures_restored"], problems=problems,
                 total_weight=result["total_weight"], mail=result["mail"]["reason"], posts=result["posts"])
    if problems:
        left_out = result["errors"] + result["conflicts"]
        reason = "%d item(s) left out of the store" % len(left_out) if left_out else problems[-1]["error"]
        return dict(entry, state="failed", reason=reason), result["changed"]
    if found.arrived_since(started):
        waited = int(time.time() - found.oldest) if found.oldest else 0
        return dict(entry, state="waiting", waiting_seconds=waited, reason="files arrived while it was imported; the "
                    "next run imports them once the delivery is complete again"), result["changed"]
    if not run.check_mode:
        try:
            entry["path"] = inbox.archive_delivery(found, settings.archive)
        except inbox.InboxError as e:
            return dict(entry, state="failed", reason=str(e), problems=[{"source": found.path, "error": str(e)}]), True
    return dict(entry, state="imported"), True


def import_inbox(run, settings, pool=None):
    """Import every complete delivery of one supplier's inbox (settings: an InboxSettings), oldest first.

    Returns dict(changed, deliveries, archive, counts, alerts); raises InboxError when the inbox cannot be used."""
    found = inbox.find(settings.inbox, settings.archive)
    now, deliveries, changed = time.time(), [], False
    for each in found:
        if each.refused:
            deliveries.append(dict(name=each.name, path=each.path, state="failed", reason=each.refused,
                                   problems=[{"source": each.path, "error": each.refused}]))
            continue
        reason = each.readiness(now, settings.settle_seconds, settings.ready_marker)
        if reason:
            deliveries.append(dict(name=each.name, path=each.path, state="waiting", reason=reason,
                                   waiting_seconds=int(now - each.oldest) if each.oldest else 0))
            continue
        entry, delivery_changed = _import(run, settings, each, pool)
        deliveries.append(entry)
        changed = changed or delivery_changed
    return dict(changed=changed, deliveries=deliveries, archive=settings.archive, counts=counts(deliveries),
                alerts=_alerts(settings.supplier, deliveries, settings.waiting_alert_seconds))


def _alerts(supplier, deliveries, waiting_alert_seconds):
    alerts = []
    for entry in deliveries:
        where = "%s/%s" % (supplier, entry["name"])
        for problem in entry.get("problems", []):
            source = os.path.basename(problem["source"].rstrip(os.sep))
            alerts.append(dict(key="%s/%s" % (where, source), text="%s, delivery %s: %s: %s" % (
                supplier, entry["name"], source, problem["error"])))
        if entry["state"] == "waiting" and entry["waiting_seconds"] > waiting_alert_seconds:
            alerts.append(dict(key=where + "/waiting", text="%s, delivery %s: waiting for %d hours: %s" % (
                supplier, entry["name"], entry["waiting_seconds"] // 3600, entry["reason"])))
    return alerts


def counts(deliveries):
    """How many deliveries are in each state."""
    return {state: sum(1 for entry in deliveries if entry["state"] == state) for state in STATES}


def did_not_run(supplier, inbox_path, msg):
    """The entry of a supplier whose import could not run (its options, its inbox, a library missing)."""
    alert = dict(key=supplier, text="%s: the import did not run: %s" % (supplier, msg))
    return dict(supplier=supplier, inbox=inbox_path, failed=True, msg=msg, changed=False, deliveries=[],
                counts=counts([]), alerts=[alert])


def import_suppliers(run, suppliers, supplier_workers, image_workers, warn):
    """Every supplier, supplier_workers at a time, their images converted on one shared pool of image_workers.

    suppliers: (name, inbox, InboxSettings, or why its import cannot run) each. Returns one entry per supplier, in
    the order given: its name and inbox with what import_inbox returns, or did_not_run's entry when its import could
    not run; the others go on.
    warn: where the traceback of an unexpected error goes."""

    def one(supplier):
        name, inbox_path, settings = supplier
        if isinstance(settings, str):
            return did_not_run(name, inbox_path, settings)
        try:
            return dict(supplier=name, inbox=inbox_path, **import_inbox(run, settings, pool))
        except Failed as e:  # the inbox, the store or the disk refused
            msg = str(e)
        except Exception as e:  # a bug: this supplier's import stops, the others' results are kept
            msg = "the import stopped unexpectedly: %s" % "".join(traceback.format_exception_only(type(e), e)).strip()
            warn(traceback.format_exc())
        return did_not_run(name, inbox_path, msg)

    workers = conversion.process_count(image_workers)
    pool = conversion.conversion_pool(workers) if workers > 1 and not run.check_mode else None
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=supplier_workers) as threads:
            return list(threads.map(one, suppliers))
    finally:
        if pool is not None:
            pool.terminate()


def suppliers_result(entries):
    """What inbox_import returns for several suppliers (their entries, as import_suppliers returns them)."""
    return dict(changed=any(entry["changed"] for entry in entries), suppliers=entries,
                counts=counts([d for entry in entries for d in entry["deliveries"]]),
                alerts=[alert for entry in entries for alert in entry["alerts"]])


def run_summary(entries):
    """The run's summary for machines (O(summary_path)): each supplier's deliveries by state, sorted by supplier, and
    what needs a person."""
    rows = []
    for entry in sorted(entries, key=lambda entry: entry["supplier"]):
        row = dict(supplier=entry["supplier"], inbox=entry["inbox"], error=entry.get("msg"),
                   deliveries=entry["deliveries"])
        row.update({state: [d["name"] for d in entry["deliveries"] if d["state"] == state] for state in STATES})
        rows.append(row)
    return dict(suppliers=rows, alerts=[alert for entry in entries for alert in entry["alerts"]])
