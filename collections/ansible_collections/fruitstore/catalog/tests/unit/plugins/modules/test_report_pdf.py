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


def test_bad_input_is_named(run_module, tmp_path):
    with pytest.raises(AnsibleFailJson, match="products\\[1\\] must have a name and an integer weight"):
        run_module(report_pdf, {"path": str(tmp_path / "r.pdf"), "products": [{"name": "A", "weight": 1}, {"name": "B"}]})
    with pytest.raises(AnsibleFailJson, match="directory does not exist"):
        run_module(report_pdf, {"path": str(tmp_path / "missing" / "r.pdf"), "products": []})
    with pytest.raises(AnsibleFailJson, match="date must be YYYY-MM-DD"):
        run_module(report_pdf, {"path": str(tmp_path / "r.pdf"), "products": [], "date": "22/11/2026"})
