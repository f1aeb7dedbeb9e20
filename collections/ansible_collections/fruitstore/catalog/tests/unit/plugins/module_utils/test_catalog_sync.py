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
    def __init__(self, failures):
        self.failures = failures
        self.created = []

    def create_product(self, item):
        failure = self.failures.get(item["name"])
        if failure:
            raise failure
        self.created.append(item["name"])


def test_products_are_posted_in_order_and_an_unreachable_store_stops_the_rest():
    items = [dict(product(name), action=sync.CREATE) for name in ("A", "B", "C", "D")]
    client = Client({"B": StoreError("400 bad"), "C": StoreUnreachable("connection refused")})
    sync.create_products(client, items)
    assert client.created == ["A"]
    assert [item["action"] for item in items] == [sync.CREATE, sync.FAILED, sync.FAILED, sync.FAILED]
    assert "stopped answering" in items[3]["error"]
