# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

pytest.importorskip("reportlab")

from ansible_collections.fruitstore.catalog.plugins.modules import report_pdf  # noqa: E402

from .conftest import AnsibleFailJson  # noqa: E402


def test_check_then_write_then_nothing_to_do(run_module, tmp_path):
    args = {"path": str(tmp_path / "processed.pdf"), "date": "2026-11-22",
            "products": [{"name": "Apple", "weight": 500}, {"name": "Plum", "weight": "150"}]}
    predicted = run_module(report_pdf, args, check_mode=True, diff=True)
    assert predicted["changed"] and not (tmp_path / "processed.pdf").exists()
    assert "name: Plum, weight: 150 lbs" in predicted["diff"]["after"]
    written = run_module(report_pdf, args)
    assert written["changed"] and written["title"] == "Processed Update on November 22, 2026"
    assert written["total_weight"] == 650
    assert (tmp_path / "processed.pdf").read_bytes().startswith(b"%PDF")
    assert not run_module(report_pdf, args)["changed"]
    assert not run_module(report_pdf, args, check_mode=True)["changed"]


@pytest.mark.parametrize("product, message", [
    ({"name": "B"}, "missing required arguments: weight found in products"),
    ({"name": "B", "weight": "heavy"}, "weight.* is of type str found in .*products.*unable to convert to int"),
    ({"name": "B", "weight": 1, "colour": "red"}, "Unsupported parameters for .*: products.colour"),
], ids=["no weight", "a weight that is no number", "an unknown key"])
def test_the_argument_spec_refuses_bad_products(run_module, tmp_path, product, message):
    with pytest.raises(AnsibleFailJson, match=message):
        run_module(report_pdf, {"path": str(tmp_path / "r.pdf"), "products": [{"name": "A", "weight": 1}, product]})
    assert not (tmp_path / "r.pdf").exists()


def test_the_products_product_upload_returns_are_taken_as_they_are(run_module, tmp_path):
    returned = {"name": "Fig", "weight": 60, "description": "Soft.", "image_name": "004-5f1c9a0b2e.jpeg",
                "image": str(tmp_path / "004.jpeg"), "source": str(tmp_path / "004.txt"), "action": "present"}
    written = run_module(report_pdf, {"path": str(tmp_path / "r.pdf"), "products": [returned, {"name": "Kiwi", "weight": 5}]})
    assert written["changed"] and written["total_weight"] == 65


def test_bad_input_is_named(run_module, tmp_path):
    with pytest.raises(AnsibleFailJson, match="directory does not exist"):
        run_module(report_pdf, {"path": str(tmp_path / "missing" / "r.pdf"), "products": []})
    with pytest.raises(AnsibleFailJson, match="date must be YYYY-MM-DD"):
        run_module(report_pdf, {"path": str(tmp_path / "r.pdf"), "products": [], "date": "22/11/2026"})
