# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.catalog collection; not a public API.
#
# Bringing a delivery into the store: decide per product what the store lacks (plan), then
# upload what is missing (apply). The store cannot tell which images it holds (its media may not
# be served), so a local journal remembers every image this collection uploaded.

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.fruitstore.catalog.plugins.module_utils._store_api import (
    StoreError,
    StoreUnreachable,
    file_sha256,
    same_product,
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
        directory = os.path.dirname(self.path)
        if directory and not os.path.isdir(directory):
            os.makedirs(directory, 0o700)
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


def upload_images(client, journal, products, workers):
    """Upload the images of the products to create, at most `workers` at a time."""
    def upload(product):
        try:
            if _needs_upload(client, journal, product):
                client.upload_image(product["image_path"], product["image_name"], product["sha256"])
                journal.record(product["image_name"], product["sha256"])
                product["image_uploaded"] = True
        except (StoreError, OSError) as e:
            product["action"] = FAILED
            product["error"] = "image %s: %s" % (product["image_name"], e)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(upload, [p for p in products if p["action"] == CREATE]))


def create_products(client, products):
    """POST the products to create, one after the other so that the store lists them in delivery order.

    Once the store stops answering, the rest are marked failed without waiting out their retries."""
    unreachable = None
    for product in products:
        if product["action"] != CREATE:
            continue
        if unreachable:
            product["action"] = FAILED
            product["error"] = "not posted, the store stopped answering: %s" % unreachable
            continue
        try:
            client.create_product(product)
        except StoreUnreachable as e:
            unreachable = e
            product["action"] = FAILED
            product["error"] = str(e)
        except StoreError as e:
            product["action"] = FAILED
            product["error"] = str(e)
