# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.catalog collection; not a public API.
#
# One supplier delivery from its files to the supplier's mail, in one process: the images converted, what the store
# lacks uploaded, the delivery's page and report written, the report mailed once. delivery_import runs it for one
# delivery, inbox_import for every delivery waiting in a supplier's inbox, so that Ansible's cost is paid once.

from __future__ import annotations

import hashlib
import threading

from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.fruitstore.catalog.plugins.module_utils import _delivery_page as page
from ansible_collections.fruitstore.catalog.plugins.module_utils import _report as report
from ansible_collections.fruitstore.catalog.plugins.module_utils import _smtp as smtp
from ansible_collections.fruitstore.catalog.plugins.module_utils._catalog_sync import (
    CREATE,
    LISTED,
    PRESENT,
    upload_delivery,
)
from ansible_collections.fruitstore.catalog.plugins.module_utils._conversion import convert_directory
from ansible_collections.fruitstore.catalog.plugins.module_utils._files import (
    exclusive,
    read_bytes,
    write_if_changed,
)
from ansible_collections.fruitstore.catalog.plugins.module_utils._mail import (
    checked_addresses,
    mail_argument_spec,
    smtp_settings,
)
from ansible_collections.fruitstore.catalog.plugins.module_utils._sent_log import SentLog

SUBJECT = "Upload Completed - Online Fruit Store"
BODY = "All fruits are uploaded to our website successfully. A detailed list is attached to this email."
ATTACHMENT = "processed.pdf"
# ReportLab keeps state of the document being built in globals (fonts, counters): one PDF at a time per process.
_RENDERING = threading.Lock()


class DeliveryFailed(Exception):
    """This delivery could not be imported (the store or the disk refused); the text says which and why."""


class ForDelivery:
    """The module as the import's helpers see it, for one delivery: that delivery's options, and a failure that ends
    this delivery's import (DeliveryFailed) instead of the whole module, so that an inbox's other deliveries go on."""

    def __init__(self, module, params, diff=False):
        self._module = module
        self.params = params
        self._diff = diff

    def fail_json(self, msg, **_result):
        raise DeliveryFailed(msg)

    def __getattr__(self, name):
        return getattr(self._module, name)


def workers_argument_spec():
    """How many processes convert and threads upload, for the modules that import whole deliveries (doc fragment
    _workers)."""
    return dict(image_workers=dict(type="int", default=0), upload_workers=dict(type="int", default=4))


def publish_argument_spec():
    """The report and mail options of the modules that publish a delivery (doc fragments _publish and _mail)."""
    spec = mail_argument_spec()
    spec.update(report_date=dict(type="str"))
    return spec


def checked_mail(settings):
    """The mail settings with their addresses cleaned (a YAML folded scalar's newline) and checked, before anything is
    imported; raises DeliveryFailed naming the option."""
    if not settings:
        return settings
    try:
        return checked_addresses(settings, "mail.")
    except smtp.MailError as e:
        raise DeliveryFailed("Cannot mail the report: %s" % e)


def write_page(module, path, title, products):
    """The page, when it differs; written in check mode too (marked a preview): it is how an import is previewed."""
    data = to_bytes(page.render(path, title, products, preview=module.check_mode))
    writer = ForDelivery(module, module.params)
    writer.check_mode = False
    return write_if_changed(writer, path, data, "delivery page")


def write_report(module, path, date, products, heading=None, thumbnails=None):
    """The PDF, rendered only when what it is made of changed (the key in its keywords); thumbnails: those of
    pictures made already (path -> JPEG)."""
    title = report.TITLE_FORMAT.format(date=report.parse_date(date))
    brought = [p for p in products if p["action"] in (CREATE, PRESENT)]
    listed = [p for p in products if p["action"] == LISTED]
    key = report.fingerprint(title, brought, heading, listed)
    before = read_bytes(path)
    if before is not None and key.encode() in before:
        return False
    with _RENDERING:
        data = report.render(title, brought, key, heading, listed, thumbnails)
    return write_if_changed(module, path, data, "report", before)


def mail_key(fingerprint, store_url, recipients):
    """One key per distinct outcome of an import into one store for its recipients (the sent-mail record's key)."""
    return hashlib.sha256((fingerprint + store_url + ",".join(recipients)).encode()).hexdigest()


def mail_once(module, settings, sent_log_path, key, brought, report_path, posted_now):
    """Mail the report unless the sent-mail record has the key; two runs take turns on the record. When the record
    was damaged, only a run that posted something (posted_now) mails: otherwise the mail may have gone out before.

    Returns dict(sent, reason, message_id); with error when it could not be sent (the next run tries again)."""
    weight = sum(product["weight"] for product in brought)
    body = "%s\n\nUploaded by this delivery: %d products.\nTotal weight uploaded: {:,} lbs.\n".format(weight) % (
        BODY, len(brought))
    try:
        with open(report_path, "rb") as handle:
            attachments = [(ATTACHMENT, handle.read())]
    except OSError as e:
        if not module.check_mode:
            return dict(sent=False, reason="not sent", error="Cannot attach the report %s: %s" % (report_path, e))
        attachments = []  # the report this check-mode run would have rendered
    try:
        message = smtp.build_message(settings["sender"], settings["to"], SUBJECT, body, attachments)
        relay = smtp_settings(settings)
    except smtp.MailError as e:
        return dict(sent=False, reason="not sent", error="Cannot build the report mail: %s" % e)
    with exclusive(sent_log_path, check_mode=module.check_mode):
        sent_log = SentLog(sent_log_path, module.warn)
        if key in sent_log:
            return dict(sent=False, reason="already sent", message_id=sent_log.keys[key])
        if sent_log.damaged and not posted_now:
            return dict(sent=False, reason="not sent again: the sent-mail record was damaged, so whether it went out "
                                           "cannot be told")
        if not module.check_mode:
            try:
                smtp.send(relay, message)
            except smtp.MailError as e:
                return dict(sent=False, reason="not sent", error="The report mail to %s was not sent: %s" % (
                    ", ".join(settings["to"]), e))
            try:
                sent_log.add(key, message["Message-ID"])
            except OSError as e:
                error = "The report mail was sent, but recording it in %s failed: %s" % (sent_log_path, e)
                return dict(sent=True, reason="sent", error=error)
    return dict(sent=True, reason="sent", message_id=message["Message-ID"])


class UploadAlongside:
    """The delivery's upload on a thread of its own while its images are converted (a follower of
    convert_directory): it reads the store while the first images are converted, and takes each image as soon as it
    is written. The products still go into the store one after the other, in delivery order, each right after its
    image.

    It starts only once the conversion's processes are forked, never before: a fork copies the locks held by other
    threads as they are, and a worker would wait for ever for a lock the upload held at that moment."""

    def __init__(self, module, workers):
        self.module, self.workers = module, workers
        self.condition = threading.Condition()
        self.images, self.written, self.thumbnails = [], set(), {}
        self.over = self.abandoned = False
        self.thread = self.outcome = None

    def planned(self, current, to_convert):
        self.images = sorted(current + to_convert)
        self.written.update(current)

    def forked(self):
        self.thread = threading.Thread(target=self._upload, daemon=True)
        self.thread.start()

    def converted(self, output, thumbnail=None):
        with self.condition:
            self.written.add(output)
            self.thumbnails[output] = thumbnail
            self.condition.notify_all()

    def ready(self, path):
        """Wait until the image at path is written (True) or the conversion ended without it (False)."""
        with self.condition:
            self.condition.wait_for(lambda: path in self.written or self.over)
            return path in self.written and not self.abandoned

    def _upload(self):
        try:
            self.outcome = upload_delivery(self.module, self.images, self.workers, ready=self.ready)
        except BaseException as e:  # raised again by result(), in the module's thread
            self.outcome = e

    def finish(self, failed=False):
        """The conversion ended; failed: with an error, and nothing more is posted."""
        with self.condition:
            self.over, self.abandoned = True, failed
            self.condition.notify_all()
        if self.thread is not None:
            self.thread.join()

    def result(self):
        """The upload's result (upload_delivery's); raises what the upload raised."""
        if self.thread is None:  # nothing was converted: the upload runs now, in this thread
            self._upload()
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


def import_delivery(module, params, image_workers, upload_workers, heading=None, pool=None):
    """Convert (on image_workers processes, or a shared conversion pool), upload, write the page and the report, mail
    the report once, as params say (paths per delivery).

    params: the module's options for this delivery, with images_dir, descriptions_dir, manifest, journal, delivery_id,
    page_path, page_title, report_path, sent_log (any of the last four None to skip that step). Returns the result;
    raises DeliveryFailed when the delivery could not be looked at (the store or the disk refused)."""
    view = ForDelivery(module, params, diff=module._diff)
    upload = UploadAlongside(view, upload_workers)
    try:
        conversion = convert_directory(view, params["images_dir"], image_workers, pool, follower=upload)
    except BaseException:
        upload.finish(failed=True)
        raise
    upload.finish()
    del conversion["images"]  # the upload took them from the conversion's plan
    result = upload.result()
    result["errors"] = conversion["errors"] + result["errors"]
    diffs = [diff for diff in (conversion.pop("diff", None), result.pop("diff", None)) if diff]
    result.update(changed=conversion.pop("changed") or result["changed"], conversion=conversion)
    if diffs:
        result["diff"] = diffs
    products = result["products"]
    brought = [p for p in products if p["action"] in (CREATE, PRESENT)]

    result["page"] = result["report"] = None
    if params.get("page_path"):
        if module.check_mode:  # no JPEG is written: the page shows a preview of the supplier's image instead
            sources = {item["output"]: item["source"] for item in conversion["converted"]}
            for product in products:
                product["source_image"] = sources.get(product.get("image"))
        changed = write_page(view, params["page_path"], params["page_title"], products)
        for product in products:
            product.pop("source_image", None)
        result["page"] = dict(path=params["page_path"], changed=changed)
        result["changed"] = result["changed"] or (changed and not module.check_mode)  # a preview changes nothing
    if params.get("report_path"):
        changed = write_report(view, params["report_path"], params["report_date"], products, heading,
                               upload.thumbnails)
        result["report"] = dict(path=params["report_path"], changed=changed)
        result["changed"] = result["changed"] or changed

    result["mail"] = _mail(view, params, result, brought)
    result["changed"] = result["changed"] or result["mail"]["sent"]
    return result


def _mail(module, params, result, brought):
    settings = params.get("mail")
    if not settings or not params.get("report_path"):
        return dict(sent=False, reason="not asked for")
    if result["errors"] or result["conflicts"]:
        return dict(sent=False, reason="not yet: the run that imports the whole delivery sends it")
    if not result["in_store"]:
        return dict(sent=False, reason="no product of the delivery is in the store")
    # Owed once products of the delivery were posted from here (the journal says so, even after a killed run): a run
    # that finds the delivery imported and no journal (deleted, or another control node) never mails it again.
    if not (result["created"] or result["journal_posted"]):
        return dict(sent=False, reason="no product of this delivery was posted from this host")
    key = mail_key(result["fingerprint"], params["store_url"], settings["to"])
    mailed = mail_once(module, settings, params["sent_log"], key, brought, params["report_path"],
                       bool(result["created"]))
    return dict(mailed, to=settings["to"], key=key)
