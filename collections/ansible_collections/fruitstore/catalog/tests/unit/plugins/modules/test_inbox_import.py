# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# Several suppliers in one call. The store is faked (conftest.FakeStore); tests/integration/test_inbox.py runs the
# import playbook over an inventory of suppliers against the real store and SMTP server.

from __future__ import annotations

import json
import os
import threading

import pytest

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

Image = pytest.importorskip("PIL.Image")

from ansible_collections.fruitstore.catalog.plugins.modules import inbox_import  # noqa: E402

from ansible_collections.fruitstore.catalog.plugins.module_utils import _catalog_sync  # noqa: E402
from ansible_collections.fruitstore.catalog.plugins.module_utils import _suppliers as suppliers  # noqa: E402

from .conftest import AnsibleFailJson, FakeStore  # noqa: E402


def deliver(inbox_dir, delivery, products):
    """A complete delivery in a supplier's inbox, numbered from 001 like every supplier's."""
    images, descriptions = inbox_dir / delivery / "images", inbox_dir / delivery / "descriptions"
    images.mkdir(parents=True)
    descriptions.mkdir()
    for number, name in enumerate(products, 1):
        Image.new("RGBA", (300, 200), (number * 60, 80, 40, 255)).save(images / ("%03d.tiff" % number))
        (descriptions / ("%03d.txt" % number)).write_text("%s\n%d lbs\nFresh.\n" % (name, number * 100))


@pytest.fixture
def inboxes(tmp_path):
    deliver(tmp_path / "acme", "week-48", ["Apple", "Kiwi", "Mango"])
    deliver(tmp_path / "beta", "week-48", ["Fig", "Lime"])
    deliver(tmp_path / "beta", "week-49", ["Plum"])
    return tmp_path


def call(inboxes, *suppliers, **options):
    return dict(dict(store_url="http://store.test/", size=[60, 40], settle_seconds=0, image_workers=2),
                suppliers=list(suppliers), **options)


def test_every_supplier_in_one_call_and_a_bad_one_fails_alone(run_module, store, inboxes):
    result = run_module(inbox_import, call(
        inboxes, {"supplier": "acme", "inbox": str(inboxes / "acme")},
        {"supplier": "ghost", "inbox": str(inboxes / "ghost")},
        {"supplier": "beta", "inbox": str(inboxes / "beta"), "archive": str(inboxes / "done" / "beta")},
        {"supplier": "typo", "inbox": str(inboxes / "acme"), "setle_seconds": 0}, supplier_workers=3))

    assert result["changed"] and result["counts"] == {"imported": 3, "waiting": 0, "failed": 0}
    acme, ghost, beta, typo = result["suppliers"]
    assert [entry["supplier"] for entry in result["suppliers"]] == ["acme", "ghost", "beta", "typo"]
    assert [d["state"] for d in acme["deliveries"]] == ["imported"]
    assert acme["archive"] == str(inboxes / "acme-archive") and (inboxes / "acme-archive" / "week-48").is_dir()
    assert [d["name"] for d in beta["deliveries"]] == ["week-48", "week-49"]  # one after the other, oldest first
    assert (inboxes / "done" / "beta" / "week-49" / "processed.pdf").is_file()  # its own archive, not inherited
    assert ghost["failed"] and ghost["msg"] == "inbox %s is not a directory" % (inboxes / "ghost")
    assert typo["failed"] and "setle_seconds" in typo["msg"]
    assert [alert["key"] for alert in result["alerts"]] == ["ghost", "typo"]
    assert result["alerts"][0]["text"].startswith("ghost: the import did not run: inbox ")
    # Deliveries numbered alike by two suppliers: each product once, each picture a name of its own.
    assert sorted(p["name"] for p in store.products) == ["Apple", "Fig", "Kiwi", "Lime", "Mango", "Plum"]
    assert len(set(store.images)) == 6 and all(name.startswith("00") for name in store.images)


def test_an_element_gets_the_call_options_it_does_not_set(run_module, store, inboxes):
    result = run_module(inbox_import, call(
        inboxes, {"supplier": "acme", "inbox": str(inboxes / "acme"), "settle_seconds": 86400},
        {"supplier": "beta", "inbox": str(inboxes / "beta")}, settle_seconds=0), check_mode=True)
    acme, beta = result["suppliers"]
    assert [d["state"] for d in acme["deliveries"]] == ["waiting"]  # its own settle time
    assert [d["state"] for d in beta["deliveries"]] == ["imported", "imported"]  # would be, in check mode
    assert store.products == [] and (inboxes / "beta" / "week-48").is_dir()


def test_an_element_password_is_a_secret():
    spec = suppliers.inbox_argument_spec()
    call = ArgumentSpecValidator(spec.argument_spec).validate({"store_url": "http://store.test/"}).validated_parameters
    options, secrets = suppliers.supplier_options(call, ArgumentSpecValidator(spec.argument_spec, **spec.rules), {
        "supplier": "acme", "inbox": "/srv/acme", "url_username": "ops", "url_password": "s3cret", "upload_workers": "8",
        "mail": {"to": ["a@example.com"], "password": "relay-pass", "username": "u"}})
    assert options["store_url"] == "http://store.test/" and options["mail"]["port"] == 25
    assert options["upload_workers"] == 8 and options["quality"] == 85
    assert secrets == {"s3cret", "relay-pass"}


def test_the_store_is_named_per_supplier_and_the_summary_written(run_module, store, inboxes):
    summary = inboxes / "state" / "summary.json"
    result = run_module(inbox_import, dict(
        suppliers=[{"supplier": "acme", "inbox": str(inboxes / "acme"), "store_url": "http://store.test/"},
                   {"supplier": "beta", "inbox": str(inboxes / "beta")}],
        size=[60, 40], settle_seconds=0, image_workers=2, summary_path=str(summary)))
    written = json.loads(summary.read_text())
    assert [row["supplier"] for row in written["suppliers"]] == ["acme", "beta"]
    assert written["suppliers"][0]["imported"] == ["week-48"] and written["suppliers"][0]["error"] is None
    assert "store_url" in written["suppliers"][1]["error"]  # beta names no store, and the call none either
    assert written["alerts"] == result["alerts"] and [a["key"] for a in result["alerts"]] == ["beta"]


def test_inbox_and_suppliers_together_are_refused(run_module, inboxes):
    with pytest.raises(AnsibleFailJson) as failure:
        run_module(inbox_import, call(inboxes, {"supplier": "a", "inbox": "/a"}, inbox=str(inboxes / "acme")))
    assert "mutually exclusive: inbox|suppliers" in failure.value.args[0]["msg"]


def test_one_supplier_alone_still_fails_the_call_when_its_inbox_is_missing(run_module, inboxes):
    with pytest.raises(AnsibleFailJson) as failure:
        run_module(inbox_import, dict(store_url="http://store.test/", inbox=str(inboxes / "ghost"), supplier="ghost"))
    assert failure.value.args[0]["msg"] == "inbox %s is not a directory" % (inboxes / "ghost")


def test_suppliers_are_imported_at_the_same_time(run_module, store, inboxes, monkeypatch):
    class MeetingStore(FakeStore):
        """Each supplier's uploads wait (10 s at most) until the other supplier has begun uploading too."""
        uploading, met, turn = set(), [], threading.Condition()

        def upload_image(self, path, image_name, sha256):
            with self.turn:
                self.uploading.add(os.path.relpath(path, str(inboxes)).split(os.sep, maxsplit=1)[0])
                self.turn.notify_all()
                self.met.append(self.turn.wait_for(lambda: len(self.uploading) == 2, timeout=10))
            super().upload_image(path, image_name, sha256)

    monkeypatch.setattr(_catalog_sync, "StoreClient", MeetingStore)
    result = run_module(inbox_import, call(inboxes, {"supplier": "acme", "inbox": str(inboxes / "acme")},
                                           {"supplier": "beta", "inbox": str(inboxes / "beta")}, supplier_workers=2))
    assert result["counts"]["imported"] == 3 and len(store.products) == 6
    assert MeetingStore.met and all(MeetingStore.met)


def test_links_out_of_the_inbox_are_refused_and_said_so(run_module, store, inboxes, tmp_path):
    outside = tmp_path / "elsewhere"
    deliver(outside, "week-50", ["Quince"])
    deliver(outside, "week-51", ["Lemon"])
    (inboxes / "acme" / "linked").symlink_to(outside / "week-50")
    deliver(inboxes / "acme", "week-51", [])
    (inboxes / "acme" / "week-51" / "images").rmdir()
    (inboxes / "acme" / "week-51" / "images").symlink_to(outside / "week-51" / "images")
    result = run_module(inbox_import, dict(store_url="http://store.test/", inbox=str(inboxes / "acme"),
                                           supplier="acme", size=[60, 40], settle_seconds=0))
    states = {d["name"]: (d["state"], d.get("reason")) for d in result["deliveries"]}
    assert states["week-48"] == ("imported", None)
    assert states["linked"] == ("failed", "the delivery's folder is a symbolic link (to %s); refused: move the "
                                          "files themselves into the inbox" % (outside / "week-50"))
    assert states["week-51"][0] == "failed" and states["week-51"][1].startswith("images/ is a symbolic link")
    assert sorted(p["name"] for p in store.products) == ["Apple", "Kiwi", "Mango"]  # nothing from outside
    assert [a["key"] for a in result["alerts"]] == ["acme/linked/linked", "acme/week-51/week-51"]
    assert (inboxes / "acme" / "linked").is_symlink() and (inboxes / "acme" / "week-51").is_dir()  # left alone


def test_a_file_that_arrives_during_the_import_keeps_the_delivery_in_the_inbox(run_module, store, inboxes,
                                                                               monkeypatch):
    delivery = inboxes / "acme" / "week-48"
    importing = suppliers.delivery.import_delivery

    def import_while_the_supplier_uploads(*args, **kwargs):
        result = importing(*args, **kwargs)
        Image.new("RGBA", (300, 200), (9, 9, 9, 255)).save(delivery / "images" / "004.tiff")
        (delivery / "descriptions" / "004.txt").write_text("Quince\n90 lbs\nFragrant.\n")
        return result

    monkeypatch.setattr(suppliers.delivery, "import_delivery", import_while_the_supplier_uploads)
    args = dict(store_url="http://store.test/", inbox=str(inboxes / "acme"), supplier="acme", size=[60, 40],
                settle_seconds=0)
    first = run_module(inbox_import, args)
    assert [(d["state"], d["reason"].split(";")[0]) for d in first["deliveries"]] == [
        ("waiting", "files arrived while it was imported")]
    assert delivery.is_dir() and sorted(p["name"] for p in store.products) == ["Apple", "Kiwi", "Mango"]

    monkeypatch.setattr(suppliers.delivery, "import_delivery", importing)
    second = run_module(inbox_import, args)
    assert [(d["state"], d["created"]) for d in second["deliveries"]] == [("imported", ["Quince"])]
    assert not delivery.exists() and sorted(p["name"] for p in store.products) == ["Apple", "Kiwi", "Mango", "Quince"]


def test_a_folder_name_used_again_is_a_new_delivery(run_module, store, tmp_path):
    args = dict(store_url="http://store.test/", inbox=str(tmp_path / "acme"), supplier="acme", size=[60, 40],
                settle_seconds=0)
    deliver(tmp_path / "acme", "current", ["Apple"])
    first = run_module(inbox_import, args)
    deliver(tmp_path / "acme", "current", ["Pear"])  # numbered 001 again, in the same folder name
    second = run_module(inbox_import, args)
    assert [(d["state"], d["created"]) for d in first["deliveries"] + second["deliveries"]] == [
        ("imported", ["Apple"]), ("imported", ["Pear"])]
    assert sorted(p["name"] for p in store.products) == ["Apple", "Pear"] and len(set(store.images)) == 2
    archived = tmp_path / "acme-archive"
    assert sorted(os.listdir(archived)) == ["current", "current-2"]
    assert [(archived / name / ".fruitstore" / "delivery-id").read_text() for name in ("current", "current-2")] == [
        "acme/current", "acme/current#2"]
    assert not run_module(inbox_import, args)["changed"]


def test_a_delivery_an_earlier_release_began_keeps_its_name_in_the_store(run_module, store, tmp_path):
    deliver(tmp_path / "acme", "current", ["Apple"])
    (tmp_path / "acme-archive" / "current").mkdir(parents=True)  # a delivery of that name archived before 1.3.0
    (tmp_path / "acme" / "current" / ".fruitstore").mkdir()  # and this one begun by that release
    result = run_module(inbox_import, dict(store_url="http://store.test/", inbox=str(tmp_path / "acme"),
                                           supplier="acme", size=[60, 40], settle_seconds=0))
    assert result["deliveries"][0]["state"] == "imported"
    assert (tmp_path / "acme-archive" / "current-2" / ".fruitstore" / "delivery-id").read_text() == "acme/current"
