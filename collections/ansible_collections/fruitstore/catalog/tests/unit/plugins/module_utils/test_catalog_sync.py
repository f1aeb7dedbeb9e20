# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

from ansible_collections.fruitstore.catalog.plugins.module_utils import _catalog_sync as sync
from ansible_collections.fruitstore.catalog.plugins.module_utils._store_api import StoreError, StoreUnreachable


def product(name, weight=5, image="x.jpeg"):
    return {"name": name, "weight": weight, "description": "d", "image_name": image, "source": name + ".txt",
            "image_path": "/nonexistent/" + image}


def test_plan_creates_what_is_missing_and_never_reposts():
    store = [dict(product("Apple", image="001.jpeg"), id=1), dict(product("Pear", 7, "002.jpeg"), id=2)]
    planned = sync.plan([product("Apple", image="001.jpeg"), product("Pear", 9, "009.jpeg"),
                         product("Plum", image="002.jpeg"), product("Kiwi", image="004.jpeg")], store)
    assert [p["action"] for p in planned] == [sync.PRESENT, sync.CONFLICT, sync.CONFLICT, sync.CREATE]
    assert "cannot update" in planned[1]["error"]
    assert "already used by another product" in planned[2]["error"]


def test_journal_is_per_store_and_survives_a_cut_last_line(tmp_path):
    path = tmp_path / "journal.jsonl"
    journal = sync.UploadJournal(str(path), "http://a/")
    journal.record("001.jpeg", "abc")
    with open(path, "a") as handle:
        handle.write('{"store": "http://a/", "image_na')
    assert sync.UploadJournal(str(path), "http://a/").has("001.jpeg", "abc")
    assert not sync.UploadJournal(str(path), "http://b/").has("001.jpeg", "abc")


class Client:
    """Records what reaches the store; fails as told, per product name."""

    def __init__(self, failures=None, image_failures=None):
        self.failures = failures or {}
        self.image_failures = image_failures or {}
        self.created = []
        self.images = []

    def media_matches(self, image_name, sha256):
        return None

    def upload_image(self, path, image_name, sha256):
        failure = self.image_failures.get(image_name)
        if failure:
            raise failure
        self.images.append(image_name)

    def create_product(self, item):
        failure = self.failures.get(item["name"])
        if failure:
            raise failure
        self.created.append(item["name"])


def planned(tmp_path, names):
    items = []
    for name in names:
        image = tmp_path / (name + ".jpeg")
        image.write_bytes(name.encode())
        items.append(dict(product(name, image=name + ".jpeg"), image_path=str(image), action=sync.CREATE))
    return items


def test_products_are_posted_in_order_each_after_its_image(tmp_path):
    items = planned(tmp_path, ["A", "B", "C", "D", "E", "F"])
    client = Client(failures={"B": StoreError("400 bad")}, image_failures={"C.jpeg": StoreError("413 too large")})
    journal = sync.UploadJournal(str(tmp_path / "journal.jsonl"), "http://a/")
    sync.import_products(client, journal, items, workers=3)
    assert client.created == ["A", "D", "E", "F"]
    assert [item["action"] for item in items] == [sync.CREATE, sync.FAILED, sync.FAILED] + [sync.CREATE] * 3
    assert "image C.jpeg: 413 too large" in items[2]["error"]
    assert journal.has("A.jpeg", sync.file_sha256(items[0]["image_path"])) and not journal.has("C.jpeg", "x")


def test_an_unreachable_store_stops_the_rest_at_once(tmp_path):
    items = planned(tmp_path, ["A", "B", "C", "D"])
    client = Client(failures={"B": StoreUnreachable("connection refused")})
    sync.import_products(client, sync.UploadJournal(str(tmp_path / "j.jsonl"), "http://a/"), items, workers=1)
    assert client.created == ["A"]
    assert [item["action"] for item in items] == [sync.CREATE, sync.FAILED, sync.FAILED, sync.FAILED]
    assert "stopped answering" in items[3]["error"]
