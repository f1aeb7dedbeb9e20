# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import re

import pytest

from ansible_collections.fruitstore.catalog.plugins.module_utils import _catalog_sync, _delivery_page, _products
from ansible_collections.fruitstore.catalog.plugins.module_utils._products import (
    IMAGE_NAME_MAX,
    DescriptionError,
    decode,
    parse_description,
    parse_weight,
    image_name_for,
    read_delivery,
    stored_name,
)


@pytest.mark.parametrize("text, weight", [
    ("500 lbs", 500), ("500lbs", 500), ("500 LBS", 500), ("1,200 lbs", 1200), ("1 lb", 1), ("150 lbs.", 150),
])
def test_weights_suppliers_write(text, weight):
    assert parse_weight(text) == weight


@pytest.mark.parametrize("text", ["five hundred", "-5 lbs", "0 lbs", "500", "500 kg", "5.5 lbs", "1,20 lbs", "999999 lbs"])
def test_weights_that_are_refused(text):
    with pytest.raises(DescriptionError, match="weight"):
        parse_weight(text)


def test_the_lab_quirks_trailing_nbsp_blank_lines_curly_quotes():
    text = "Blackberry\u00a0\n150 lbs\u00a0\nIt\u2019s sweet.\u00a0\n\n"
    assert parse_description(text) == {"name": "Blackberry", "weight": 150, "description": "It\u2019s sweet."}


def test_crlf_bom_and_latin1():
    assert parse_description(decode(b"\xef\xbb\xbfKiwi\r\n250 lbs\r\nGreen.\r\n"))["name"] == "Kiwi"
    assert parse_description(decode("Pfirsich\n200 lbs\nSch\u00f6n.\n".encode("latin-1")))["description"] == "Sch\u00f6n."


def test_missing_lines_and_store_limits():
    with pytest.raises(DescriptionError, match="three lines"):
        parse_description("Apple\n500 lbs\n")
    with pytest.raises(DescriptionError, match="name is 101 characters"):
        parse_description("A" * 101 + "\n5 lbs\nx\n")
    with pytest.raises(DescriptionError, match="description is 5001 characters"):
        parse_description("Apple\n5 lbs\n" + "x" * 5001 + "\n")


def test_stored_name_cleans_like_django():
    assert stored_name("my fruit.jpeg") == "my_fruit.jpeg"
    assert stored_name("p\u00eache (1).jpeg") == "p\u00eache_1.jpeg"
    assert stored_name("001.jpeg") == "001.jpeg"


def test_read_delivery_pairs_by_stem_and_reports_orphans(tmp_path):
    (tmp_path / "001.txt").write_text("Apple\n500 lbs\nRed.\n")
    (tmp_path / "002.txt").write_text("Pear\n5 lbs\nGreen.\n")
    (tmp_path / "004.txt").write_text("Bad\nfive hundred\nNo.\n")
    images = ["/out/001.jpeg", "/out/003.jpeg", "/out/004.jpeg"]
    products, problems = read_delivery(str(tmp_path), images, "acme/2026-11-20")
    assert [(p["name"], p["image_name"], p["image_path"]) for p in products] == [
        ("Apple", image_name_for("acme/2026-11-20", "001", ".jpeg"), "/out/001.jpeg")]
    errors = {problem["source"].rsplit("/", 1)[1]: problem["error"] for problem in problems}
    assert "without an image" in errors["002.txt"]
    assert "without a description" in errors["003.jpeg"]
    assert "five hundred" in errors["004.txt"]


def test_image_names_are_unique_per_delivery_and_stem_and_stable():
    name = image_name_for("/srv/acme/week-47", "001", ".jpeg")
    assert re.match(r"^001-[0-9a-f]{10}\.jpeg$", name)
    assert name == image_name_for("/srv/acme/week-47", "001", ".jpeg")
    assert name != image_name_for("/srv/acme/week-48", "001", ".jpeg")
    assert name != image_name_for("/srv/beta/week-47", "001", ".jpeg")
    # Stems the store would clean to the same name still get names of their own.
    assert image_name_for("d", "red apple", ".jpeg") != image_name_for("d", "red_apple", ".jpeg")
    assert stored_name(image_name_for("d", "red apple", ".jpeg")) == image_name_for("d", "red apple", ".jpeg")


def test_image_names_fit_the_store_and_survive_names_that_clean_to_nothing():
    long_name = image_name_for("d", "x" * 300, ".jpeg")
    assert len(long_name) == IMAGE_NAME_MAX and long_name.endswith(".jpeg")
    assert re.match(r"^[0-9a-f]{10}\.jpeg$", image_name_for("d", "$()", ".jpeg"))


def test_the_suboptions_of_products_are_the_keys_an_import_returns_and_its_actions_those_the_page_shows():
    returned = set(_catalog_sync._PUBLIC_KEYS) | {"image", "picture_restored"}  # _catalog_sync._summary's entries
    assert set(_products.product_options()) == returned
    assert _products.product_options()["action"]["choices"] == list(_products.ACTIONS) and set(_products.ACTIONS) == set(
        _delivery_page.STATUS)
    required = _products.product_options("name", "weight")
    assert [key for key, option in required.items() if option.get("required")] == ["name", "weight"]
    assert not any(option.get("required") for option in _products.product_options().values())
