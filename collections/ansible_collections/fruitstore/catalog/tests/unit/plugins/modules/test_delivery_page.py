# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.fruitstore.catalog.plugins.modules import delivery_page

from .conftest import AnsibleFailJson


def products(tmp_path):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "001.jpeg").write_bytes(b"jpeg")
    return [
        {"name": "Apple <b>", "weight": 500, "description": "Crisp & red.", "image": str(tmp_path / "images" / "001.jpeg"),
         "source": str(tmp_path / "descriptions" / "001.txt"), "action": "create"},
        {"name": "Kiwi", "weight": 250, "description": "Green.", "image": str(tmp_path / "images" / "002.jpeg"),
         "source": str(tmp_path / "descriptions" / "002.txt"), "action": "present"},
        {"source": str(tmp_path / "descriptions" / "003.txt"), "action": "failed", "error": "weight 'five' is not a number"},
    ]


def test_page_shows_each_product_its_picture_and_status(run_module, tmp_path):
    args = {"path": str(tmp_path / "delivery.html"), "products": products(tmp_path), "preview": True}
    assert run_module(delivery_page, args, check_mode=True)["changed"]
    assert not (tmp_path / "delivery.html").exists()
    assert run_module(delivery_page, args)["changed"]
    page = (tmp_path / "delivery.html").read_text()
    assert "Apple &lt;b&gt;" in page and "Crisp &amp; red." in page
    assert '<img src="images/001.jpeg"' in page
    assert "picture not converted yet" in page  # 002.jpeg does not exist
    assert "new, would be posted" in page and "already in the store" in page
    assert "weight &#x27;five&#x27; is not a number" in page and "descriptions/003.txt" in page
    assert "a preview: nothing has been posted" in page
    assert not run_module(delivery_page, args)["changed"]
    after_the_run = run_module(delivery_page, dict(args, preview=False))
    assert after_the_run["changed"] and (tmp_path / "delivery.html").read_text().count(">in the store, brought by this delivery<") == 2


@pytest.mark.parametrize("product, message", [
    ({"name": "Apple"}, "missing required arguments: action, source found in products"),
    ({"source": "/d/001.txt", "action": "posted"}, "value of action must be one of: create, present, listed, conflict, "
                                                   "failed, got: posted found in products"),
    ({"source": "/d/001.txt", "action": "create", "colour": "red"}, "Unsupported parameters for .*: products.colour"),
    ({"source": "/d/001.txt", "action": "create", "weight": "heavy"}, "weight.* is of type str found in .*products.*unable to convert to int"),
], ids=["no action, no source", "an unknown action", "an unknown key", "a weight that is no number"])
def test_the_argument_spec_refuses_bad_products(run_module, tmp_path, product, message):
    with pytest.raises(AnsibleFailJson, match=message):
        run_module(delivery_page, {"path": str(tmp_path / "p.html"), "products": [product]})
    assert not (tmp_path / "p.html").exists()


def test_every_key_of_a_product_that_product_upload_returns_is_taken(run_module, tmp_path):
    listed = {"name": "Fig", "weight": 60, "description": "Soft.", "image_name": "004-5f1c9a0b2e.jpeg",
              "image": str(tmp_path / "004.jpeg"), "source": str(tmp_path / "004.txt"), "action": "listed",
              "note": "the store already lists 'Fig'", "picture_restored": True}
    assert run_module(delivery_page, {"path": str(tmp_path / "p.html"), "products": [listed]})["changed"]
    assert "the store already lists &#x27;Fig&#x27;" in (tmp_path / "p.html").read_text()
