# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.catalog collection; not a public API.
#
# One supplier delivery from its files to the supplier's mail, in one process: the images converted, what the store
# lacks uploaded, the delivery's page and report written, the report mailed once. delivery_import runs it for one
# delivery, inbox_import for every delivery waiting in a supplier's inbox, so that Ansible's cost is paid once.

from __future__ import annotations

import dataclasses
import hashlib
import threading

from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.fruitstore.catalog.plugins.module_utils import _delivery_page as page
from ansible_collections.fruitstore.catalog.plugins.module_utils import _report as report
from ansible_collections.fruitstore.catalog.plugins.module_utils import _smtp as smtp
from ansible_collections.fruitstore.catalog.plugins.module_utils._argspec import ArgumentSpec
from ansible_collections.fruitstore.catalog.plugins.module_utils._catalog_sync import (
    CREATE,
    LISTED,
    PRESENT,
    upload_delivery,
)
from ansible_collections.fruitstore.catalog.plugins.module_utils._conversion import (
    ConversionSettings,
    convert_directory,
)
from ansible_collections.fruitstore.catalog.plugins.module_utils._files import read_bytes, write_if_changed
from ansible_collections.fruitstore.catalog.plugins.module_utils._mail import MailSettings, mail_argument_spec
from ansible_collections.fruitstore.catalog.plugins.module_utils._sent_log import NotRecorded, NotSent, SentLog
from ansible_collections.fruitstore.catalog.plugins.module_utils._store_api import StoreSettings, store_identity

SUBJECT = "Upload Completed - Online Fruit Store"
BODY = "All fruits are uploaded to our website successfully. A detailed list is attached to this email."
ATTACHMENT = "processed.pdf"
# ReportLab keeps state of the document being built in globals (fonts, counters): one PDF at a time per process.
_RENDERING = threading.Lock()


def workers_argument_spec():
    """How many processes convert and threads upload, for the modules that import whole deliveries (doc fragment
    _workers)."""
    return ArgumentSpec(dict(image_workers=dict(type="int", default=0), upload_workers=dict(type="int", default=4)))


def publish_argument_spec():
    """The report and mail options of the modules that publish a delivery (doc fragments _publish and _mail)."""
    return mail_argument_spec().merge(dict(report_date=dict(type="str")))


@dataclasses.dataclass(frozen=True)
class ImportSettings:
    """How a delivery is imported: its images converted (conversion) on image_workers processes, uploaded into the
    store (store) on upload_workers threads, restock for a product the store has already, and the report mailed
    (mail; None: not mailed)."""

    conversion: ConversionSettings
    store: StoreSettings
    mail: MailSettings | None = None
    restock: str = "keep"
    image_workers: int = 0
    upload_workers: int = 4

    @classmethod
    def from_options(cls, options):
        """The settings of a module's options (conversion, upload, publish and workers); raises SettingsError naming
        the option that cannot be used."""
        mail = MailSettings.from_options(options["mail"], "report mail") if options["mail"] else None
        return cls(ConversionSettings.from_options(options), StoreSettings.from_options(options), mail,
                   options["restock"], options["image_workers"], options["upload_workers"])


def write_page(run, path, title, products):
    """The page, when it differs; written in check mode too (marked a preview): it is how an import is previewed."""
    data = to_bytes(page.render(path, title, products, preview=run.check_mode))
    return write_if_changed(run, path, data, "delivery page", preview=True)


def write_report(run, path, date, products, heading=None, thumbnails=None):
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
    return write_if_changed(run, path, data, "report", before)


def mail_key(fingerprint, store_url, recipients):
    """One key per distinct outcome of an import into one store for its recipients (the sent-mail record's key)."""
    return hashlib.sha256((fingerprint + store_url + ",".join(recipients)).encode()).hexdigest()


def mail_once(run, mail, sent_log_path, key, brought, report_path, posted_now, earlier_keys=()):
    """Mail the report (mail: a MailSettings) unless the sent-mail record has the key; two runs take turns on the
    record. When the record was damaged, only a run that posted something (posted_now) mails: otherwise the mail may
    have gone out before.

    earlier_keys: the keys earlier releases recorded the same mail under. Returns dict(sent, reason, message_id); with
    error when it could not be sent (the next run tries again)."""
    weight = sum(product["weight"] for product in brought)
    body = "%s\n\nUploaded by this delivery: %d products.\nTotal weight uploaded: {:,} lbs.\n".format(weight) % (
        BODY, len(brought))
    try:
        with open(report_path, "rb") as handle:
            attachments = [(ATTACHMENT, handle.read())]
    except OSError as e:
        if not run.check_mode:
            return dict(sent=False, reason="not sent", error="Cannot attach the report %s: %s" % (report_path, e))
        attachments = []  # the report this check-mode run would have rendered
    try:
        message = smtp.build_message(mail.sender, mail.to, SUBJECT, body, attachments)
    except smtp.MailError as e:
        return dict(sent=False, reason="not sent", error="Cannot build the report mail: %s" % e)
    try:
        sent = SentLog.send_once(run, sent_log_path, key, mail.relay, message, "report mail",
                                 unsure_sends=posted_now, earlier_keys=earlier_keys)
    except NotSent as e:
        return dict(sent=False, reason="not sent", error=str(e))
    except NotRecorded as e:
        return dict(sent=True, reason="sent", message_id=message["Message-ID"], error=str(e))
    except OSError as e:  # the record's lock
        return dict(sent=False, reason="not sent", error="Cannot lock the sent-mail record %s: %s"
                    % (sent_log_path, e))
    return dict(sent=sent["sent"], reason=sent["reason"], message_id=sent["message_id"])


class UploadAlongside:
    """The delivery's upload on a thread of its own while its images are converted (a follower of
    convert_directory): it reads the store while the first images are converted, and takes each image as soon as it
    is written. The products still go into the store one after the other, in delivery order, each right after its
    image.

    It starts only once the conversion's processes are forked, never before: a fork copies the locks held by other
    threads as they are, and a worker would wait for ever for a lock the upload held at that moment."""

    def __init__(self, run, paths, settings):
        self.run, self.paths, self.settings = run, paths, settings
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
            self.outcome = upload_delivery(self.run, self.paths, self.settings.store, self.images,
                                           self.settings.upload_workers, self.settings.restock, ready=self.ready)
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


def import_delivery(run, paths, settings, pool=None):
    """Convert, upload, write the page and the report, mail the report once: the delivery at paths (a DeliveryPaths;
    page_path, report_path or sent_log None to skip that step) as settings (an ImportSettings) say, the images
    converted on a shared conversion pool when given.

    Returns the result; raises Failed (ConversionFailed, UploadFailed, or a file that cannot be written) when the
    delivery could not be looked at (the store or the disk refused)."""
    upload = UploadAlongside(run, paths, settings)
    try:
        conversion = convert_directory(run, paths, settings.conversion, settings.image_workers, pool,
                                       follower=upload)
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
    if paths.page_path:
        if run.check_mode:  # no JPEG is written: the page shows a preview of the supplier's image instead
            sources = {item["output"]: item["source"] for item in conversion["converted"]}
            for product in products:
                product["source_image"] = sources.get(product.get("image"))
        changed = write_page(run, paths.page_path, paths.page_title, products)
        for product in products:
            product.pop("source_image", None)
        result["page"] = dict(path=paths.page_path, changed=changed)
        result["changed"] = result["changed"] or (changed and not run.check_mode)  # a preview changes nothing
    if paths.report_path:
        changed = write_report(run, paths.report_path, paths.report_date, products, paths.report_heading,
                               upload.thumbnails)
        result["report"] = dict(path=paths.report_path, changed=changed)
        result["changed"] = result["changed"] or changed

    result["mail"] = _mail(run, paths, settings, result, brought)
    result["changed"] = result["changed"] or result["mail"]["sent"]
    return result


def _mail(run, paths, settings, result, brought):
    mail = settings.mail
    if not mail or not paths.report_path:
        return dict(sent=False, reason="not asked for")
    if result["errors"] or result["conflicts"]:
        return dict(sent=False, reason="not yet: the run that imports the whole delivery sends it")
    if not result["in_store"]:
        return dict(sent=False, reason="no product of the delivery is in the store")
    # Owed once products of the delivery were posted from here (the journal says so, even after a killed run): a run
    # that finds the delivery imported and no journal (deleted, or another control node) never mails it again.
    if not (result["created"] or result["journal_posted"]):
        return dict(sent=False, reason="no product of this delivery was posted from this host")
    key = mail_key(result["fingerprint"], store_identity(settings.store.url), mail.to)
    # Releases before 1.3.0 keyed the record by the URL as given (with or without its trailing slash).
    spelled = settings.store.url.rstrip("/")
    earlier = [mail_key(result["fingerprint"], url, mail.to) for url in (spelled, spelled + "/")]
    mailed = mail_once(run, mail, paths.sent_log, key, brought, paths.report_path, bool(result["created"]), earlier)
    return dict(mailed, to=list(mail.to), key=key)
