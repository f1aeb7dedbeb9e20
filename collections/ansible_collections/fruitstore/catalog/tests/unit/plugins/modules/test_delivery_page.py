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


def test_products_without_an_action_are_refused(run_module, tmp_path):
    with pytest.raises(AnsibleFailJson, match="products\\[0\\] needs a source and an action"):
        run_module(delivery_page, {"path": str(tmp_path / "p.html"), "products": [{"name": "Apple"}]})
