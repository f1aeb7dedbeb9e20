# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.catalog collection; not a public API.
#
# Bringing a delivery into the store: decide per product what the store lacks (plan), then
# upload what is missing (apply). A product's identity in the store is its image name (see
# _products.image_name_for): the store's own rows, read on every run, say what is there; the
# local upload journal only bridges the moment between an image's upload and its product's POST.

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.fruitstore.catalog.plugins.module_utils._files import (
    StateError,
    ensure_parent,
    exclusive,
    open_append,
    read_state,
    set_aside,
)
from ansible_collections.fruitstore.catalog.plugins.module_utils._settings import Failed
from ansible_collections.fruitstore.catalog.plugins.module_utils._products import (
    CONFLICT,
    CREATE,
    FAILED,
    LISTED,
    PRESENT,
    read_delivery,
    stored_name,
)
from ansible_collections.fruitstore.catalog.plugins.module_utils._store_api import (
    StoreClient,
    StoreError,
    StoreUnreachable,
    file_sha256,
    same_product,
    store_argument_spec,
    store_identity,
)

# What to do with a product whose name the store already lists from another delivery (a restock).
RESTOCK_CHOICES = ("keep", "add", "refuse")


class ShapeError(ValueError):
    """A journal line that is JSON, but not an upload."""


@functools.lru_cache(maxsize=None)
def _written_identity(url):
    """The store_identity of a URL a journal line holds (None when it names no store); each spelling worked out once."""
    try:
        return store_identity(url)
    except StoreError:
        return None


class UploadJournal:
    """Append-only record of the images uploaded to a store whose product is not posted yet.

    One JSON line {store, image_name, sha256} per upload, and the same with posted: true once the product is in.
    Only an upload without its product counts: it bridges a run cut short between the two POSTs. Once the
    product is posted, the store's own list says what is there."""

    # Every record reaches the kernel at once, which a killed run cannot undo; only a power cut can, so the disk
    # is synced at most every SYNC_SECONDS, and with what the store lists after the posts, not once per POST.
    SYNC_SECONDS = 0.1

    def __init__(self, path, store, warn):
        self.path = path
        self.store = store
        self.next_sync = 0.0
        self.pending = set()
        self.posted = set()  # image names whose product was posted from here
        self.listed = set()  # ... and that the store listed afterwards
        try:
            data = read_state(path)
            lines = data.decode("utf-8").splitlines() if data else []
            for number, line in enumerate(lines):
                try:
                    entry = json.loads(line)
                    if not (isinstance(entry, dict) and all(isinstance(entry.get(key), str)
                                                            for key in ("store", "image_name", "sha256"))):
                        raise ShapeError("it is not an upload")
                except ValueError as e:
                    if number == len(lines) - 1 and not data.endswith(b"\n") and not isinstance(e, ShapeError):
                        continue  # the last line, cut short by a crash while it was written
                    raise StateError("line %d: %s" % (number + 1, e))
                if self._same_store(entry["store"]):
                    self._note(entry["image_name"], entry["sha256"], entry.get("posted") is True,
                               entry.get("listed") is True)
        except (StateError, UnicodeDecodeError) as e:
            aside = set_aside(path)
            warn("The upload journal %s is damaged: %s; set aside as %s, and rebuilt from what the store says." % (
                path, e, aside))
            self.pending, self.posted, self.listed = set(), set(), set()

    def _same_store(self, written):
        """Whether a line's store is this journal's store (self.store, a store_identity), however the line spells it:
        releases before 1.3.0 wrote the URL as given."""
        return _written_identity(written) == self.store

    def _note(self, image_name, sha256, posted, listed=False):
        key = (image_name, sha256)
        if posted:
            self.pending.discard(key)
            self.posted.add(image_name)
            if listed:
                self.listed.add(image_name)
        else:
            self.pending.add(key)

    def never_listed(self, image_name):
        """Whether this host posted the product and the store, though it accepted it, never listed it."""
        return image_name in self.posted and image_name not in self.listed

    def has(self, image_name, sha256):
        """Whether this image was uploaded and its product not posted yet."""
        return (image_name, sha256) in self.pending

    def record(self, image_name, sha256, posted=False, listed=False):
        self.record_all([(image_name, sha256)], posted, listed, sync=False)

    def record_all(self, images, posted=False, listed=False, sync=True):
        """record() for several (image_name, sha256): one write for all of them, synced to disk (sync: at once,
        else when SYNC_SECONDS passed since the last sync)."""
        lines = []
        for image_name, sha256 in images:
            self._note(image_name, sha256, posted, listed)
            entry = {"store": self.store, "image_name": image_name, "sha256": sha256}
            if posted:
                entry["posted"] = True
            if listed:
                entry["listed"] = True
            lines.append(json.dumps(entry) + "\n")
        if not lines:
            return
        ensure_parent(self.path)
        with open_append(self.path) as handle:
            handle.write("".join(lines))
            handle.flush()
            if sync or time.monotonic() >= self.next_sync:
                os.fsync(handle.fileno())
                self.next_sync = time.monotonic() + self.SYNC_SECONDS


def _describe(stored):
    return "%s lbs, image %s" % (stored.get("weight"), stored.get("image_name"))


def plan(products, store_products, restock="keep"):
    """Give each product an action from what the store lists.

    A row with the product's own image name is this very item: present when its data is the same, a conflict when
    the item changed after it was imported (the store has no update). Otherwise a row with the same name comes
    from another delivery (or was added by hand): the restock rule says whether the store keeps its row (listed),
    gains a second one (create) or the product is refused (conflict). Anything else is created."""
    by_image, by_name = {}, {}
    for stored in store_products:
        by_image.setdefault(stored.get("image_name"), stored)
        by_name.setdefault(stored.get("name"), stored)
    for product in products:
        own = by_image.get(product["image_name"])
        other = by_name.get(product["name"])
        if own is not None:
            if same_product(own, product):
                product["action"] = PRESENT
            else:
                product["action"] = CONFLICT
                product["error"] = ("changed since it was imported: the store has '%s', %s; the delivery now says '%s', "
                                    "%s lbs. The store cannot update a product: change it in the store's admin"
                                    % (own.get("name"), _describe(own), product["name"], product["weight"]))
        elif other is not None and restock != "add":
            if restock == "keep":
                product["action"] = LISTED
                product["note"] = ("the store already lists '%s' (%s) from another delivery; kept as it is"
                                   % (product["name"], _describe(other)))
            else:
                product["action"] = CONFLICT
                product["error"] = ("the store already lists '%s' (%s) from another delivery, and restock is 'refuse'"
                                    % (product["name"], _describe(other)))
        else:
            product["action"] = CREATE
    return products


def recognise_earlier_imports(client, products, store_products, ready=None):
    """Products that a release before 1.2.0 imported under their picture's own file name (001.jpeg; the name has
    carried the delivery's token since): the row with that name and the same name, weight and description is the
    product itself when the store's picture has the bytes of this delivery's image. Such a product keeps that name
    and is present, never listed, refused or posted again. ready: as upload_delivery's (the image may still be
    being converted); an image that was not converted is not compared."""
    by_image = {}
    for stored in store_products:
        by_image.setdefault(stored.get("image_name"), stored)
    for product in products:
        if product["image_name"] in by_image:
            continue
        earlier = stored_name(os.path.basename(product["image_path"]))
        row = by_image.get(earlier)
        if row is None or not same_product(row, dict(product, image_name=earlier)):
            continue
        if ready is not None and not ready(product["image_path"]):
            continue
        try:
            sha256 = file_sha256(product["image_path"])
        except OSError:
            continue
        if client.media_matches(earlier, sha256):
            product.update(image_name=earlier, action=PRESENT)
            product.pop("note", None)
            product.pop("error", None)


def _media_statuses(client, names, workers):
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(client.media_status, names))


def find_missing_pictures(client, products, store_products, workers, first=8):
    """Mark the present products whose picture the store has lost (its /media/ answers 404): action stays
    present, with missing_picture set. Returns whether the store serves pictures at all: True when any picture
    answered, None when none did (a store without /media/, whose pictures cannot be seen, so none is missing).
    When the first few of ours all answer 404, a few other products' pictures tell whether any is served before
    the rest of ours are asked."""
    present = [product for product in products if product["action"] == PRESENT]
    if not present:
        return None
    names = [product["image_name"] for product in present]
    statuses = _media_statuses(client, names[:first], workers)
    if 200 not in statuses:
        ours = set(names)
        others = [stored.get("image_name") for stored in reversed(store_products)
                  if stored.get("image_name") and stored.get("image_name") not in ours][:3]
        if 200 not in _media_statuses(client, others, workers):
            return None
    statuses += _media_statuses(client, names[first:], workers)
    for product, status in zip(present, statuses):
        if status == 404:
            product["missing_picture"] = True
    return True


def _needs_upload(client, journal, product, media_served):
    product["sha256"] = file_sha256(product["image_path"])
    if product.get("missing_picture"):
        return True  # the store answered 404 for it a moment ago
    served = client.media_matches(product["image_name"], product["sha256"])
    if served is False:
        raise StoreError("the store already holds a different image named %s, so an upload would be stored under "
                         "another name; remove that file from the store's media" % product["image_name"])
    if served:
        return False
    # Not served: on a store that serves pictures it is missing; on one that may not, an upload of this run's
    # predecessor that was cut short before its product's POST must not be sent again.
    return media_served or not journal.has(product["image_name"], product["sha256"])


class _Import:
    """Uploads the images of the products to create (and the lost pictures of present ones) on a pool of
    threads and posts each product as soon as its image is in, one after the other, so that the store lists
    them in delivery order. Once the store stops answering, the rest fail at once instead of waiting out their
    retries."""

    def __init__(self, client, journal, media_served, ready=None):
        self.client = client
        self.journal = journal
        self.media_served = media_served
        self.ready = ready or (lambda path: True)
        self.unreachable = None

    def upload_image(self, product):
        if self.unreachable:
            return
        if not self.ready(product["image_path"]):
            self._fail(product, "its image was not converted")  # left out afterwards, as read_delivery leaves it out
            return
        try:
            if _needs_upload(self.client, self.journal, product, self.media_served):
                self.client.upload_image(product["image_path"], product["image_name"], product["sha256"])
                if product["action"] == CREATE:  # a lost picture's product is in the store already
                    self.journal.record(product["image_name"], product["sha256"])
                product["image_uploaded"] = True
        except StoreUnreachable as e:
            self.unreachable = self.unreachable or e
            self._fail(product, "image %s: %s" % (product["image_name"], e))
        except (StoreError, OSError) as e:
            self._fail(product, "image %s: %s" % (product["image_name"], e))

    def create_product(self, product):
        if product["action"] != CREATE:
            return  # present (its picture only), or its image failed
        if self.unreachable:
            self._fail(product, "not posted, the store stopped answering: %s" % self.unreachable)
            return
        try:
            self.client.create_product(product)
            self.journal.record(product["image_name"], product["sha256"], posted=True)
        except StoreUnreachable as e:
            self.unreachable = e
            self._fail(product, str(e))
        except StoreError as e:
            self._fail(product, str(e))

    @staticmethod
    def _fail(product, error):
        product["action"] = FAILED
        product["error"] = error


def import_products(client, journal, products, workers, media_served=None, ready=None):
    """Bring the products planned for creation into the store, and the lost pictures of present ones:
    images at most `workers` at a time, products in order, each right after its image. ready(image_path), when
    given, waits until that image is converted and tells whether it was."""
    run = _Import(client, journal, media_served, ready)
    work = [product for product in products if product["action"] == CREATE or product.get("missing_picture")]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        uploads = [pool.submit(run.upload_image, product) for product in work]
        for product, upload in zip(work, uploads):
            upload.result()
            run.create_product(product)


def upload_settings_spec():
    """How deliveries go into the store (doc fragments fruitstore.catalog._store and _upload)."""
    return store_argument_spec().merge(dict(
        restock=dict(type="str", choices=list(RESTOCK_CHOICES), default="keep"),
    ))


def upload_argument_spec():
    """The options of a module that uploads one delivery (doc fragments _store, _upload and _upload_files)."""
    return upload_settings_spec().merge(dict(
        descriptions_dir=dict(type="path", required=True),
        journal=dict(type="path", default="~/.local/state/fruitstore/uploads.jsonl"),
        delivery_id=dict(type="str"),
    ))


_PUBLIC_KEYS = ("name", "weight", "description", "image_name", "source", "action", "error", "note")


def _summary(products, problems, client):
    def public(product):
        entry = {key: product[key] for key in _PUBLIC_KEYS if key in product}
        entry["image"] = product["image_path"]
        if product.get("missing_picture"):
            entry["picture_restored"] = True
        return entry

    by_action = {}
    for product in products:
        by_action.setdefault(product["action"], []).append(product)
    in_store = [p for p in products if p["action"] in (CREATE, PRESENT, LISTED)]
    errors = problems + [{"source": p["source"], "name": p["name"], "error": p["error"]} for p in by_action.get(FAILED, [])]
    # What the supplier's report and mail are about: one fingerprint per distinct outcome of an import.
    fingerprint = hashlib.sha256(json.dumps([[p["name"], p["weight"]] for p in in_store]).encode()).hexdigest()
    return dict(
        products=sorted([public(p) for p in products] + [dict(problem, action=FAILED) for problem in problems],
                        key=lambda entry: os.path.splitext(os.path.basename(entry["source"]))[0]),
        created=[p["name"] for p in by_action.get(CREATE, [])],
        present=[p["name"] for p in by_action.get(PRESENT, [])],
        listed=[{"name": p["name"], "source": p["source"], "note": p["note"]} for p in by_action.get(LISTED, [])],
        pictures_restored=[p["image_name"] for p in by_action.get(PRESENT, []) if p.get("missing_picture")],
        conflicts=[{"name": p["name"], "source": p["source"], "error": p["error"]} for p in by_action.get(CONFLICT, [])],
        errors=errors,
        in_store=[{"name": p["name"], "weight": p["weight"], "image": p["image_path"]} for p in in_store],
        total_weight=sum(p["weight"] for p in in_store if p["action"] != LISTED),
        fingerprint=fingerprint,
        posts=client.posts,
    )


def _diff(store_products, created):
    def lines(items):
        return "".join("%s, %s lbs, %s\n" % (p["name"], p["weight"], p["image_name"]) for p in items)

    before = lines(store_products)
    return {"before_header": "store products", "after_header": "store products after the import",
            "before": before, "after": before + lines(created)}


def _products_only(listed, warn):
    """The store's list without what is not a product (the store is read, not trusted)."""
    products = [item for item in listed if isinstance(item, dict)]
    if len(products) != len(listed):
        warn("The store's list of products holds %d entries that are not products; they are ignored."
             % (len(listed) - len(products)))
    odd = [item for item in products
           if not (isinstance(item.get("name"), str) and isinstance(item.get("weight"), int)
                   and isinstance(item.get("image_name"), str))]
    if odd:
        warn("The store lists %d products whose name, weight or image_name are not text, a whole number and text "
             "(the first: %s); none of them is taken for a product of this delivery." % (len(odd), str(odd[0])[:200]))
    return products


def _refuse_the_never_listed(products, journal):
    for product in products:
        if product["action"] == CREATE and journal.never_listed(product["image_name"]):
            product["action"] = FAILED
            product["error"] = ("posted to the store by an earlier run (it answered 201 Created), but the store has "
                                "never listed it; not posted again, check the store's list (GET fruits/)")


def _check_listed(client, journal, products, warn):
    """After posting, look once: a product the store accepted but does not list is not taken for imported."""
    created = [product for product in products if product["action"] == CREATE]
    if not created:
        return
    try:
        listed = set(item.get("image_name") for item in _products_only(client.list_products(), warn))
    except StoreError as e:
        warn("Could not read the store's list back after the import: %s" % e)
        return
    journal.record_all([(product["image_name"], product["sha256"]) for product in created
                        if product["image_name"] in listed], posted=True, listed=True)
    for product in created:
        if product["image_name"] not in listed:
            product["action"] = FAILED
            product["error"] = ("the store accepted it (201 Created) but does not list it; it will not be posted "
                                "again: check the store's list (GET fruits/)")


def default_delivery_id(descriptions_dir):
    """The delivery's directory, the parent of its descriptions, as an absolute path without links."""
    return os.path.dirname(os.path.realpath(descriptions_dir.rstrip(os.sep) or os.sep))


def _only_converted(images, products, problems, ready, descriptions_dir, delivery_id):
    """The products and problems of a delivery read as if images had been only those that were converted."""
    converted = [path for path in images if ready(path)]
    if len(converted) == len(images):
        return products, problems
    _products, problems = read_delivery(descriptions_dir, converted, delivery_id)
    converted = set(converted)
    return [product for product in products if product["image_path"] in converted], problems


class UploadFailed(Failed):
    """The delivery cannot be brought into the store at all (the store or the journal cannot be read)."""


def upload_delivery(run, paths, store, images, workers, restock="keep", ready=None):
    """Bring the delivery (paths: a DeliveryPaths with descriptions_dir, journal and delivery_id) into the store
    (store: a StoreSettings); run: a _settings.Run (check mode: look only). restock: what to do when a product is in
    the store already (RESTOCK_CHOICES).

    images: the converted images, paired with the descriptions by file stem. When they are still being converted,
    ready(path) waits until the image at path is and tells whether it was (False: its conversion failed); what was
    not converted is then left out as if it had never been among images. Returns the result: changed,
    products, created, present, listed, pictures_restored, conflicts, errors, in_store, total_weight, fingerprint,
    posts, and the diff when asked for. Raises UploadFailed only when the store cannot be read at all."""
    descriptions_dir = paths.descriptions_dir
    if not os.path.isdir(descriptions_dir):
        raise UploadFailed("descriptions_dir %s is not a directory" % descriptions_dir)
    delivery_id = paths.delivery_id or default_delivery_id(descriptions_dir)
    products, problems = read_delivery(descriptions_dir, images, delivery_id)
    workers = max(1, workers)
    try:
        client = StoreClient(store, pool_size=workers)
    except StoreError as e:
        raise UploadFailed(str(e))
    try:
        # Two imports of the same delivery wait for each other; the second then sees what the first did.
        with exclusive(paths.journal, check_mode=run.check_mode):
            try:
                journal = UploadJournal(paths.journal, store_identity(store.url), run.warn)
            except (OSError, ValueError) as e:
                raise UploadFailed("Cannot read the upload journal %s: %s" % (paths.journal, e))
            store_products = _products_only(client.list_products(), run.warn)
            plan(products, store_products, restock)
            recognise_earlier_imports(client, products, store_products, ready)
            _refuse_the_never_listed(products, journal)
            media_served = find_missing_pictures(client, products, store_products, workers)
            if not run.check_mode:
                import_products(client, journal, products, workers, media_served, ready)
                if ready:
                    products, problems = _only_converted(images, products, problems, ready, descriptions_dir,
                                                         delivery_id)
                _check_listed(client, journal, products, run.warn)
    except (StoreError, OSError) as e:
        raise UploadFailed("Cannot import into the store: %s" % e)
    finally:
        client.close()

    result = _summary(products, problems, client)
    created = [p for p in products if p["action"] == CREATE]
    result["changed"] = bool(created) or bool(result["pictures_restored"]) or any(p.get("image_uploaded")
                                                                                  for p in products)
    result["delivery_id"] = delivery_id
    result["journal_posted"] = sum(1 for product in products if product["image_name"] in journal.posted)
    if run.diff:
        result["diff"] = _diff(store_products, created)
    for conflict in result["conflicts"]:
        run.warn("%s: %s" % (conflict["source"], conflict["error"]))
    return result
