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


def test_pictures_are_embedded_as_binary_jpeg_thumbnails(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    pictures = []
    for number, colour in enumerate(("red", "green"), 1):
        path = tmp_path / ("%03d.jpeg" % number)
        Image.new("RGB", (600, 400), colour).save(path)
        pictures.append(str(path))
    products = [dict(PRODUCTS[0], image=pictures[0]), dict(PRODUCTS[1], image=pictures[1]),
                {"name": "Plum", "weight": 150, "image": str(tmp_path / "missing.jpeg")}]
    data = report.render("T", products)
    images = [image for page in pypdf.PdfReader(io.BytesIO(data)).pages for image in page.images]
    assert [image.image.size for image in images] == [(150, 100), (150, 100)]  # the missing one: "(no picture)"
    assert images[0].image.convert("RGB").getpixel((75, 50))[0] > 200  # each product's own picture, in order
    assert images[1].image.convert("RGB").getpixel((75, 50))[0] < 100
    assert b"/ASCII85Decode" not in data and b"/DCTDecode" in data
    assert report.rl_config.useA85  # ReportLab's own setting is left as it was


def test_thumbnails_made_already_are_used_as_they_are(tmp_path):
    Image = pytest.importorskip("PIL.Image")
    made = io.BytesIO()
    Image.new("RGB", (150, 100), "blue").save(made, "JPEG")
    products = [dict(PRODUCTS[0], image=str(tmp_path / "001.jpeg"))]  # no such file: only the one made shows
    data = report.render("T", products, thumbnails={products[0]["image"]: made.getvalue()})
    images = [image for page in pypdf.PdfReader(io.BytesIO(data)).pages for image in page.images]
    assert len(images) == 1 and images[0].image.convert("RGB").getpixel((75, 50))[2] > 200


def test_the_fallback_font_is_used_only_for_what_the_main_font_lacks():
    if not report.font("FruitSans") or not report.font("FruitSans-Fallback"):
        pytest.skip("DejaVu Sans and Droid Sans Fallback are not installed")
    assert report.markup("Kiwi & Co") == "Kiwi &amp; Co"
    assert report.markup("Pear 梨") == 'Pear <font name="FruitSans-Fallback">梨</font>'
