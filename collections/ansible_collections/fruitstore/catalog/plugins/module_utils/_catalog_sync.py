# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.catalog collection; not a public API.
#
# Bringing a delivery into the store: decide per product what the store lacks (plan), then
# upload what is missing (apply). The store cannot tell which images it holds (its media may not
# be served), so a local journal remembers every image this collection uploaded.

from __future__ import annotations

import hashlib
import json
import os
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.fruitstore.catalog.plugins.module_utils._files import ensure_parent, exclusive
from ansible_collections.fruitstore.catalog.plugins.module_utils._products import read_delivery
from ansible_collections.fruitstore.catalog.plugins.module_utils._store_api import (
    StoreClient,
    StoreError,
    StoreUnreachable,
    file_sha256,
    same_product,
    store_argument_spec,
)

CREATE = "create"
PRESENT = "present"
CONFLICT = "conflict"
FAILED = "failed"


class UploadJournal:
    """Append-only record of the images uploaded to a store: one JSON line {store, image_name, sha256} each."""

    def __init__(self, path, store):
        self.path = path
        self.store = store
        self.uploaded = set()
        if os.path.exists(path):
            with open(path) as handle:
                for line in handle:
                    try:
                        entry = json.loads(line)
                        if entry["store"] == store:
                            self.uploaded.add((entry["image_name"], entry["sha256"]))
                    except (ValueError, KeyError, TypeError):
                        continue  # a line cut short by a crash

    def has(self, image_name, sha256):
        return (image_name, sha256) in self.uploaded

    def record(self, image_name, sha256):
        self.uploaded.add((image_name, sha256))
        ensure_parent(self.path)
        with open(self.path, "a") as handle:
            handle.write(json.dumps({"store": self.store, "image_name": image_name, "sha256": sha256}) + "\n")
            handle.flush()
            os.fsync(handle.fileno())


def plan(products, store_products):
    """Give each product an action: create it, it is already present, or it conflicts."""
    by_name = {}
    for stored in store_products:
        by_name.setdefault(stored.get("name"), []).append(stored)
    referenced_images = set(stored.get("image_name") for stored in store_products)
    for product in products:
        same_name = by_name.get(product["name"], [])
        if any(same_product(stored, product) for stored in same_name):
            product["action"] = PRESENT
        elif same_name:
            stored = same_name[0]
            product["action"] = CONFLICT
            product["error"] = ("the store cannot update '%s' (it has %s lbs, %s; the delivery says %s lbs, %s): "
                                "not posted" % (product["name"], stored.get("weight"), stored.get("image_name"),
                                                product["weight"], product["image_name"]))
        elif product["image_name"] in referenced_images:
            product["action"] = CONFLICT
            product["error"] = ("the image name %s is already used by another product in the store; rename the image"
                                % product["image_name"])
        else:
            product["action"] = CREATE
    return products


def _needs_upload(client, journal, product):
    product["sha256"] = file_sha256(product["image_path"])
    if journal.has(product["image_name"], product["sha256"]):
        return False
    served = client.media_matches(product["image_name"], product["sha256"])
    if served is False:
        raise StoreError("the store already holds a different image named %s; an upload would be stored under "
                         "a random name, so rename the image" % product["image_name"])
    return not served


class _Import:
    """Uploads the images of the products to create on a pool of threads and posts each product as soon as
    its image is in, one after the other, so that the store lists them in delivery order. Once the store
    stops answering, the rest fail at once instead of waiting out their retries."""

    def __init__(self, client, journal):
        self.client = client
        self.journal = journal
        self.unreachable = None

    def upload_image(self, product):
        if self.unreachable:
            return
        try:
            if _needs_upload(self.client, self.journal, product):
                self.client.upload_image(product["image_path"], product["image_name"], product["sha256"])
                self.journal.record(product["image_name"], product["sha256"])
                product["image_uploaded"] = True
        except StoreUnreachable as e:
            self.unreachable = self.unreachable or e
            self._fail(product, "image %s: %s" % (product["image_name"], e))
        except (StoreError, OSError) as e:
            self._fail(product, "image %s: %s" % (product["image_name"], e))

    def create_product(self, product):
        if product["action"] != CREATE:
            return  # its image failed
        if self.unreachable:
            self._fail(product, "not posted, the store stopped answering: %s" % self.unreachable)
            return
        try:
            self.client.create_product(product)
        except StoreUnreachable as e:
            self.unreachable = e
            self._fail(product, str(e))
        except StoreError as e:
            self._fail(product, str(e))

    @staticmethod
    def _fail(product, error):
        product["action"] = FAILED
        product["error"] = error


def import_products(client, journal, products, workers):
    """Bring the products planned for creation into the store: images at most `workers` at a time,
    products in order, each right after its image."""
    run = _Import(client, journal)
    to_create = [product for product in products if product["action"] == CREATE]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        uploads = [pool.submit(run.upload_image, product) for product in to_create]
        for product, upload in zip(to_create, uploads):
            upload.result()
            run.create_product(product)


def upload_argument_spec():
    """The options of the modules that upload a delivery (doc fragments fruitstore.catalog._upload and _store)."""
    spec = store_argument_spec()
    spec.update(
        descriptions_dir=dict(type="path", required=True),
        journal=dict(type="path", default="~/.local/state/fruitstore/uploads.jsonl"),
    )
    return spec


_PUBLIC_KEYS = ("name", "weight", "description", "image_name", "source", "action", "error")


def _summary(products, problems, client):
    def public(product):
        entry = {key: product[key] for key in _PUBLIC_KEYS if key in product}
        entry["image"] = product["image_path"]
        return entry

    by_action = {}
    for product in products:
        by_action.setdefault(product["action"], []).append(product)
    in_store = [p for p in products if p["action"] in (CREATE, PRESENT)]
    errors = problems + [{"source": p["source"], "name": p["name"], "error": p["error"]} for p in by_action.get(FAILED, [])]
    # What the supplier's report and mail are about: one fingerprint per distinct outcome of an import.
    fingerprint = hashlib.sha256(json.dumps([[p["name"], p["weight"]] for p in in_store]).encode()).hexdigest()
    return dict(
        products=sorted([public(p) for p in products] + [dict(problem, action=FAILED) for problem in problems],
                        key=lambda entry: os.path.splitext(os.path.basename(entry["source"]))[0]),
        created=[p["name"] for p in by_action.get(CREATE, [])],
        present=[p["name"] for p in by_action.get(PRESENT, [])],
        conflicts=[{"name": p["name"], "source": p["source"], "error": p["error"]} for p in by_action.get(CONFLICT, [])],
        errors=errors,
        in_store=[{"name": p["name"], "weight": p["weight"], "image": p["image_path"]} for p in in_store],
        total_weight=sum(p["weight"] for p in in_store),
        fingerprint=fingerprint,
        posts=client.posts,
    )


def _diff(store_products, created):
    def lines(items):
        return "".join("%s, %s lbs, %s\n" % (p["name"], p["weight"], p["image_name"]) for p in items)

    before = lines(store_products)
    return {"before_header": "store products", "after_header": "store products after the import",
            "before": before, "after": before + lines(created)}


def upload_delivery(module, images, workers):
    """Bring the delivery into the store as the module's upload options say (check mode: look only).

    images: the converted images, paired with the descriptions by file stem. Returns the result: changed,
    products, created, present, conflicts, errors, in_store, total_weight, fingerprint, posts, and the diff when
    asked for. Fails the module only when the store cannot be read at all."""
    params = module.params
    if not os.path.isdir(params["descriptions_dir"]):
        module.fail_json(msg="descriptions_dir %s is not a directory" % params["descriptions_dir"])
    products, problems = read_delivery(params["descriptions_dir"], images)
    workers = max(1, workers)
    try:
        client = StoreClient(params, pool_size=workers)
        journal = UploadJournal(params["journal"], client.base)
    except StoreError as e:
        module.fail_json(msg=str(e))
    except (OSError, ValueError) as e:
        module.fail_json(msg="Cannot read the upload journal %s: %s" % (params["journal"], e))
    try:
        with exclusive(params["journal"], check_mode=module.check_mode):
            store_products = client.list_products()
            plan(products, store_products)
            if not module.check_mode:
                import_products(client, journal, products, workers)
    except (StoreError, OSError) as e:
        module.fail_json(msg="Cannot import into the store: %s" % e)
    finally:
        client.close()

    result = _summary(products, problems, client)
    created = [p for p in products if p["action"] == CREATE]
    result["changed"] = bool(created) or any(p.get("image_uploaded") for p in products)
    if module._diff:
        result["diff"] = _diff(store_products, created)
    for conflict in result["conflicts"]:
        module.warn("%s: %s" % (conflict["source"], conflict["error"]))
    return result
