# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# The store is faked (conftest.FakeStore); the supplier import's integration tests run this module against the real store.

from __future__ import annotations

import json
import shutil

import pytest

Image = pytest.importorskip("PIL.Image")

from ansible_collections.fruitstore.catalog.plugins.module_utils import _delivery  # noqa: E402
from ansible_collections.fruitstore.catalog.plugins.module_utils import _smtp as smtp  # noqa: E402
from ansible_collections.fruitstore.catalog.plugins.modules import delivery_import  # noqa: E402

from .conftest import AnsibleFailJson  # noqa: E402


@pytest.fixture
def delivery(tmp_path):
    images, descriptions = tmp_path / "images", tmp_path / "descriptions"
    images.mkdir()
    descriptions.mkdir()
    for number, name in enumerate(("Apple", "Kiwi", "Mango"), 1):
        Image.new("RGBA", (300, 200), (number * 60, 80, 40, 255)).save(images / ("%03d.tiff" % number))
        (descriptions / ("%03d.txt" % number)).write_text("%s\n%d lbs\nFresh.\n" % (name, number * 100))
    return {"images_dir": str(images), "descriptions_dir": str(descriptions), "size": [60, 40],
            "manifest": str(tmp_path / "state" / "images.json"), "journal": str(tmp_path / "state" / "uploads.jsonl"),
            "store_url": "http://store.test/"}


def test_check_mode_predicts_and_changes_nothing(run_module, store, delivery, tmp_path):
    predicted = run_module(delivery_import, delivery, check_mode=True)
    assert predicted["changed"] and len(predicted["conversion"]["converted"]) == 3
    assert predicted["created"] == ["Apple", "Kiwi", "Mango"] and predicted["posts"] == 0
    assert store.products == [] and not list((tmp_path / "images").glob("*.jpeg"))


def test_import_then_nothing_to_do(run_module, store, delivery):
    done = run_module(delivery_import, delivery)
    assert done["changed"] and done["posts"] == 6 and done["total_weight"] == 600
    assert [p["name"] for p in store.products] == ["Apple", "Kiwi", "Mango"]
    assert sorted(store.images) == [p["image_name"] for p in store.products]  # uploaded on several threads
    assert [p["image_name"][:4] for p in store.products] == ["001-", "002-", "003-"]
    assert [p["action"] for p in done["products"]] == ["create"] * 3

    again = run_module(delivery_import, dict(delivery, return_products="changed"))
    assert not again["changed"] and again["posts"] == 0 and again["present"] == ["Apple", "Kiwi", "Mango"]
    assert again["conversion"]["unchanged"] == 3 and "products" not in again
    assert again["fingerprint"] == done["fingerprint"] and again["total_weight"] == 600


def test_a_broken_image_is_named_and_the_rest_is_imported(run_module, store, delivery, tmp_path):
    (tmp_path / "images" / "002.tiff").write_text("not a picture")
    with pytest.raises(AnsibleFailJson) as failure:
        run_module(delivery_import, delivery)
    result = failure.value.args[0]
    assert [p["name"] for p in store.products] == ["Apple", "Mango"]
    assert [error["source"].rsplit("/", 1)[1] for error in result["errors"]] == ["002.tiff", "002.txt"]
    assert "2 items of the delivery could not be imported" in result["msg"] and "002.tiff" in result["msg"]


def test_deliveries_numbered_alike_each_import_whole_and_a_rerun_without_state_posts_nothing(
        run_module, store, delivery, tmp_path):
    first = run_module(delivery_import, delivery)
    second_dir = tmp_path / "second"
    for part in ("images", "descriptions"):
        (second_dir / part).mkdir(parents=True)
        for source in (tmp_path / part).iterdir():
            if source.suffix in (".tiff", ".txt"):
                (second_dir / part / source.name).write_bytes(source.read_bytes())
    (second_dir / "descriptions" / "001.txt").write_text("Cherry\n90 lbs\nDark.\n")
    second = dict(delivery, images_dir=str(second_dir / "images"), descriptions_dir=str(second_dir / "descriptions"),
                  manifest=str(second_dir / "state" / "images.json"), journal=str(second_dir / "state" / "j.jsonl"))
    imported = run_module(delivery_import, second)
    assert imported["created"] == ["Cherry"] and [p["name"] for p in imported["listed"]] == ["Kiwi", "Mango"]
    assert len(set(p["image_name"] for p in store.products)) == 4 == len(store.images)

    shutil.rmtree(tmp_path / "state")
    again = run_module(delivery_import, delivery)
    assert again["posts"] == 0 and again["present"] == first["created"]


def test_the_report_is_mailed_once_however_the_store_url_is_written(run_module, store, delivery, tmp_path,
                                                                    monkeypatch):
    sent = []
    monkeypatch.setattr(smtp, "send", lambda settings, message: sent.append(message) or [message["To"]])
    args = dict(delivery, report_path=str(tmp_path / "processed.pdf"), sent_log=str(tmp_path / "state" / "sent.json"),
                mail={"to": ["supplier@example.com"]})
    for url in ("http://store.test/", "http://store.test", "HTTP://Store.Test:80/"):
        result = run_module(delivery_import, dict(args, store_url=url))
    assert len(sent) == 1 and result["mail"]["reason"] == "already sent" and result["posts"] == 0
    assert len(json.loads((tmp_path / "state" / "sent.json").read_text())) == 1


def test_a_report_recorded_by_an_earlier_release_is_not_mailed_again(run_module, store, delivery, tmp_path,
                                                                     monkeypatch):
    sent = []
    monkeypatch.setattr(smtp, "send", lambda settings, message: sent.append(message) or [message["To"]])
    args = dict(delivery, report_path=str(tmp_path / "processed.pdf"), sent_log=str(tmp_path / "state" / "sent.json"),
                mail={"to": ["supplier@example.com"]}, store_url="http://store.test")
    first = run_module(delivery_import, args)
    record = tmp_path / "state" / "sent.json"
    # As releases before 1.3.0 kept it: the key made of the URL as it was written.
    record.write_text(json.dumps({_delivery.mail_key(first["fingerprint"], "http://store.test",
                                                     ["supplier@example.com"]): first["mail"]["message_id"]}))
    again = run_module(delivery_import, args)
    assert len(sent) == 1 and again["mail"]["reason"] == "already sent"
    assert again["mail"]["message_id"] == first["mail"]["message_id"]
    assert len(json.loads(record.read_text())) == 2  # recorded under the key of this release too, once
