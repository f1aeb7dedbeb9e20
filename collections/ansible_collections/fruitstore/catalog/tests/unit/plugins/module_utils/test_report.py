# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import datetime
import io

import pytest

pytest.importorskip("reportlab")
pypdf = pytest.importorskip("pypdf")

from ansible_collections.fruitstore.catalog.plugins.module_utils import _report as report  # noqa: E402

PRODUCTS = [{"name": "Apple", "weight": 500}, {"name": "Kiwi & Co <b>", "weight": 1250}]


def test_long_date():
    assert report.long_date(datetime.date(2026, 11, 2)) == "November 2, 2026"
    assert report.parse_date("2026-11-22") == "November 22, 2026"


def test_the_report_reads_back_with_title_products_and_total():
    data = report.render("Processed Update on November 22, 2026", PRODUCTS)
    text = pypdf.PdfReader(io.BytesIO(data)).pages[0].extract_text()
    assert "Processed Update on November 22, 2026" in text
    assert "name: Apple" in text and "weight: 500 lbs" in text
    assert "name: Kiwi & Co <b>" in text
    assert "1,750 lbs" in text


def test_same_input_same_bytes():
    assert report.render("T", PRODUCTS) == report.render("T", PRODUCTS)
    assert report.render("T", PRODUCTS) != report.render("T", PRODUCTS[:1])
