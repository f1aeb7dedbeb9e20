# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# The store is faked (conftest.FakeStore); the supplier import's integration tests run the upload against the real store.

from __future__ import annotations

import pytest

from ansible_collections.fruitstore.catalog.plugins.modules import delivery_import, inbox_import, product_upload

from .conftest import AnsibleFailJson


@pytest.fixture
def converted(tmp_path):
    """A delivery whose images were converted into a directory of their own: (converted_dir, descriptions_dir)."""
    jpegs, descriptions = tmp_path / "www", tmp_path / "descriptions"
    jpegs.mkdir()
    descriptions.mkdir()
    for number, name in enumerate(("Apple", "Kiwi"), 1):
        (jpegs / ("%03d.jpeg" % number)).write_bytes(b"\xff\xd8 a JPEG %d" % number)
        (descriptions / ("%03d.txt" % number)).write_text("%s\n%d lbs\nFresh.\n" % (name, number * 100))
    return {"converted_dir": str(jpegs), "descriptions_dir": str(descriptions), "store_url": "http://store.test/",
            "journal": str(tmp_path / "state" / "uploads.jsonl")}


def test_the_converted_images_are_uploaded_from_converted_dir(run_module, deprecations, store, converted):
    done = run_module(product_upload, dict(converted, upload_workers=2))
    assert deprecations() == []
    assert done["created"] == ["Apple", "Kiwi"] and done["posts"] == 4
    assert [product["image"].rsplit("/", 1)[1] for product in done["products"]] == ["001.jpeg", "002.jpeg"]
    assert not run_module(product_upload, converted)["changed"]


def test_the_old_names_still_work_and_are_deprecated(run_module, deprecations, store, converted):
    old = dict(converted, images_dir=converted.pop("converted_dir"), workers=1)
    assert run_module(product_upload, old)["created"] == ["Apple", "Kiwi"]
    assert deprecations() == [
        ("Alias 'images_dir' is deprecated", "2.0.0", "fruitstore.catalog"),
        ("Alias 'workers' is deprecated", "2.0.0", "fruitstore.catalog")]


def test_a_directory_that_is_not_there_is_named_by_the_option(run_module, store, converted, tmp_path):
    with pytest.raises(AnsibleFailJson, match="converted_dir .*/missing is not a directory"):
        run_module(product_upload, dict(converted, converted_dir=str(tmp_path / "missing")))


@pytest.mark.parametrize("module, args", [
    (product_upload, {"descriptions_dir": "/d", "images": []}),
    (delivery_import, {"descriptions_dir": "/d", "images_dir": "/i"}),
    (inbox_import, {"inbox": "/i", "supplier": "acme"}),
], ids=lambda value: getattr(value, "__name__", "").rsplit(".", 1)[-1] or None)
def test_every_module_that_talks_to_the_store_wants_a_user_and_a_password_together(run_module, module, args):
    with pytest.raises(AnsibleFailJson, match="parameters are required together: url_username, url_password"):
        run_module(module, dict(args, store_url="http://store.test/", url_username="ops"))
