# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import hashlib
import json

import pytest

from ansible_collections.fruitstore.catalog.plugins.module_utils import _catalog_sync as sync
from ansible_collections.fruitstore.catalog.plugins.module_utils import _store_api as api
from ansible_collections.fruitstore.catalog.plugins.module_utils._store_api import StoreError, StoreUnreachable


def product(name, weight=5, image="x.jpeg"):
    return {"name": name, "weight": weight, "description": "d", "image_name": image, "source": name + ".txt",
            "image_path": "/nonexistent/" + image}


def test_plan_knows_its_own_products_by_image_name_and_never_reposts():
    store = [dict(product("Apple", image="001-aaa.jpeg"), id=1), dict(product("Pear", 7, "002-aaa.jpeg"), id=2),
             dict(product("Plum", image="001-bbb.jpeg"), id=3)]
    planned = sync.plan([product("Apple", image="001-aaa.jpeg"), product("Pear", 9, "002-aaa.jpeg"),
                         product("Kiwi", image="003-aaa.jpeg")], store)
    assert [p["action"] for p in planned] == [sync.PRESENT, sync.CONFLICT, sync.CREATE]
    assert "changed since it was imported" in planned[1]["error"] and "7 lbs" in planned[1]["error"]


@pytest.mark.parametrize("restock, action", [("keep", sync.LISTED), ("add", sync.CREATE), ("refuse", sync.CONFLICT)])
def test_a_name_the_store_lists_from_another_delivery_follows_the_restock_rule(restock, action):
    store = [dict(product("Apple", 450, image="001-other.jpeg"), id=1)]
    planned = sync.plan([product("Apple", image="001-mine.jpeg")], store, restock)
    assert planned[0]["action"] == action
    if action != sync.CREATE:
        assert "450 lbs, image 001-other.jpeg" in (planned[0].get("note") or planned[0]["error"])


def test_journal_counts_only_uploads_whose_product_is_not_posted(tmp_path):
    path = tmp_path / "journal.jsonl"
    journal = sync.UploadJournal(str(path), "http://a/", print)
    journal.record("001.jpeg", "abc")
    journal.record("002.jpeg", "def")
    journal.record("002.jpeg", "def", posted=True)
    with open(path, "a") as handle:
        handle.write('{"store": "http://a/", "image_na')
    again = sync.UploadJournal(str(path), "http://a/", print)
    assert again.has("001.jpeg", "abc") and not again.has("002.jpeg", "def")
    assert not sync.UploadJournal(str(path), "http://b/", print).has("001.jpeg", "abc")


def test_records_reach_the_file_at_once_and_the_disk_at_most_every_sync_interval(tmp_path, monkeypatch):
    path = tmp_path / "journal.jsonl"
    journal = sync.UploadJournal(str(path), "http://a/", print)
    syncs, now = [], [100.0]
    monkeypatch.setattr(sync.os, "fsync", syncs.append)
    monkeypatch.setattr(sync.time, "monotonic", lambda: now[0])
    for number in range(1, 51):
        journal.record("%03d.jpeg" % number, "s%d" % number)
    assert len(syncs) == 1
    again = sync.UploadJournal(str(path), "http://a/", print)
    assert all(again.has("%03d.jpeg" % number, "s%d" % number) for number in range(1, 51))
    now[0] += journal.SYNC_SECONDS
    journal.record("051.jpeg", "s51", posted=True)
    assert len(syncs) == 2


def test_what_the_store_lists_after_the_posts_is_journalled_at_once(tmp_path, monkeypatch):
    path = tmp_path / "journal.jsonl"
    journal = sync.UploadJournal(str(path), "http://a/", print)
    products = [{"image_name": "%03d.jpeg" % number, "sha256": "s%d" % number, "action": sync.CREATE}
                for number in range(1, 4)]
    for product in products:
        journal.record(product["image_name"], product["sha256"], posted=True)

    class Client:
        def list_products(self):
            return [{"image_name": "001.jpeg"}, {"image_name": "003.jpeg"}]

    syncs = []
    monkeypatch.setattr(sync.os, "fsync", syncs.append)
    sync._check_listed(Client(), journal, products, print)
    assert len(syncs) == 1  # one write for the whole delivery, not one per product
    assert [product["action"] for product in products] == [sync.CREATE, sync.FAILED, sync.CREATE]
    again = sync.UploadJournal(str(path), "http://a/", print)
    assert [again.never_listed(product["image_name"]) for product in products] == [False, True, False]
    assert path.read_text().count('"listed": true') == 2


class MediaStore:
    """Answers HEAD /media/images/<name> with the status given per name (404 otherwise)."""

    def __init__(self, statuses):
        self.statuses = statuses
        self.asked = []

    def media_status(self, image_name):
        self.asked.append(image_name)
        return self.statuses.get(image_name, 404)


def test_a_lost_picture_is_found_when_the_store_serves_pictures():
    products = [dict(product(name, image=name + ".jpeg"), action=sync.PRESENT) for name in ("A", "B")]
    served = sync.find_missing_pictures(MediaStore({"A.jpeg": 200}), products, [], workers=2)
    assert served is True
    assert [p.get("missing_picture", False) for p in products] == [False, True]


def test_when_none_of_ours_answers_another_product_tells_whether_pictures_are_served():
    store_rows = [product("X", image="x.jpeg"), product("A", image="A.jpeg")]
    products = [dict(product("A", image="A.jpeg"), action=sync.PRESENT)]
    media = MediaStore({"x.jpeg": 200})
    assert sync.find_missing_pictures(media, products, store_rows, workers=1) is True
    assert products[0]["missing_picture"] and media.asked == ["A.jpeg", "x.jpeg"]


def test_a_store_that_serves_no_picture_is_trusted():
    products = [dict(product("A", image="A.jpeg"), action=sync.PRESENT)]
    assert sync.find_missing_pictures(MediaStore({}), products, [product("X", image="x.jpeg")], workers=1) is None
    assert "missing_picture" not in products[0]


class Client:
    """Records what reaches the store; fails as told, per product name."""

    def __init__(self, failures=None, image_failures=None):
        self.failures = failures or {}
        self.image_failures = image_failures or {}
        self.created = []
        self.images = []

    def media_matches(self, image_name, sha256):
        return None

    def media_status(self, image_name):
        return 404

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
    journal = sync.UploadJournal(str(tmp_path / "journal.jsonl"), "http://a/", print)
    sync.import_products(client, journal, items, workers=3)
    assert client.created == ["A", "D", "E", "F"]
    assert [item["action"] for item in items] == [sync.CREATE, sync.FAILED, sync.FAILED] + [sync.CREATE] * 3
    assert "image C.jpeg: 413 too large" in items[2]["error"]
    # Posted products leave nothing pending; B's image is in, its product is not.
    assert not journal.has("A.jpeg", sync.file_sha256(items[0]["image_path"]))
    assert journal.has("B.jpeg", sync.file_sha256(items[1]["image_path"])) and not journal.has("C.jpeg", "x")


def test_an_unreachable_store_stops_the_rest_at_once(tmp_path):
    items = planned(tmp_path, ["A", "B", "C", "D"])
    client = Client(failures={"B": StoreUnreachable("connection refused")})
    sync.import_products(client, sync.UploadJournal(str(tmp_path / "j.jsonl"), "http://a/", print), items, workers=1)
    assert client.created == ["A"]
    assert [item["action"] for item in items] == [sync.CREATE, sync.FAILED, sync.FAILED, sync.FAILED]
    assert "stopped answering" in items[3]["error"]


@pytest.mark.parametrize("media_served, uploaded", [(None, []), (True, ["A.jpeg"])])
def test_a_pending_journal_entry_never_outweighs_a_store_that_shows_pictures(tmp_path, media_served, uploaded):
    items = planned(tmp_path, ["A"])
    journal = sync.UploadJournal(str(tmp_path / "j.jsonl"), "http://a/", print)
    journal.record("A.jpeg", sync.file_sha256(items[0]["image_path"]))  # a run cut short after the upload
    client = Client()
    sync.import_products(client, journal, items, workers=1, media_served=media_served)
    assert client.images == uploaded and client.created == ["A"]


def test_a_lost_picture_is_uploaded_again_and_its_product_not_posted(tmp_path):
    items = [dict(item, action=sync.PRESENT, missing_picture=True) for item in planned(tmp_path, ["A", "B"])]
    client = Client()
    sync.import_products(client, sync.UploadJournal(str(tmp_path / "j.jsonl"), "http://a/", print), items, workers=2,
                         media_served=True)
    assert sorted(client.images) == ["A.jpeg", "B.jpeg"] and client.created == []
    assert [item["action"] for item in items] == [sync.PRESENT, sync.PRESENT]


def test_the_journal_knows_its_store_however_a_line_spells_it(tmp_path):
    path = tmp_path / "journal.jsonl"
    path.write_text(json.dumps({"store": "HTTP://Store.Test:80", "image_name": "001.jpeg", "sha256": "abc"}) + "\n")
    assert sync.UploadJournal(str(path), api.store_identity("http://store.test/"), print).has("001.jpeg", "abc")
    other = sync.UploadJournal(str(path), api.store_identity("http://store.test:8000/"), print)
    assert not other.has("001.jpeg", "abc")


class MediaOf:
    """A client whose store serves the pictures of media (image name -> bytes)."""

    def __init__(self, media):
        self.media, self.asked = media, []

    def media_matches(self, image_name, sha256):
        self.asked.append(image_name)
        if image_name not in self.media:
            return None
        return hashlib.sha256(self.media[image_name]).hexdigest() == sha256


@pytest.mark.parametrize("served, recognised", [(b"our picture", True), (b"another picture", False), (None, False)])
def test_a_product_an_earlier_release_imported_under_its_file_name_is_itself(tmp_path, served, recognised):
    (tmp_path / "001.jpeg").write_bytes(b"our picture")
    product = dict(name="Apple", weight=500, description="Crisp.", image_path=str(tmp_path / "001.jpeg"),
                   image_name="001-0123456789.jpeg")
    row = dict(name="Apple", weight=500, description="Crisp.", image_name="001.jpeg")
    products = sync.plan([product], [row], "refuse")
    client = MediaOf({} if served is None else {"001.jpeg": served})
    sync.recognise_earlier_imports(client, products, [row])
    assert (products[0]["action"], products[0]["image_name"]) == (
        ("present", "001.jpeg") if recognised else ("conflict", "001-0123456789.jpeg"))


def test_an_earlier_row_with_other_data_is_not_compared(tmp_path):
    (tmp_path / "001.jpeg").write_bytes(b"our picture")
    product = dict(name="Apple", weight=500, description="Crisp.", image_path=str(tmp_path / "001.jpeg"),
                   image_name="001-0123456789.jpeg")
    row = dict(name="Apple", weight=400, description="Crisp.", image_name="001.jpeg")
    client = MediaOf({"001.jpeg": b"our picture"})
    sync.recognise_earlier_imports(client, sync.plan([product], [row]), [row])
    assert product["action"] == "listed" and client.asked == []
