# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

Image = pytest.importorskip("PIL.Image")

from ansible_collections.fruitstore.catalog.plugins.module_utils import _images  # noqa: E402
from ansible_collections.fruitstore.catalog.plugins.modules import delivery_import, image_convert, inbox_import  # noqa: E402

from .conftest import AnsibleFailJson  # noqa: E402


@pytest.fixture
def supplier_images(tmp_path):
    for number in range(1, 4):
        Image.new("RGBA", (300, 200), (number * 60, 80, 40, 255)).save(tmp_path / ("%03d.tiff" % number))
    (tmp_path / "README").write_text("These are our pictures.\n")
    return tmp_path


def test_check_convert_then_nothing_to_do(run_module, deprecations, supplier_images):
    args = {"images_dir": str(supplier_images), "size": [60, 40], "image_workers": 2}
    predicted = run_module(image_convert, args, check_mode=True)
    assert deprecations() == []
    assert predicted["changed"] and len(predicted["converted"]) == 3
    assert not list(supplier_images.glob("*.jpeg"))
    done = run_module(image_convert, args)
    assert done["changed"] and [item["output"].rsplit("/", 1)[1] for item in done["converted"]] == [
        "001.jpeg", "002.jpeg", "003.jpeg"]
    assert [item["source"].rsplit("/", 1)[1] for item in done["not_images"]] == ["README"]
    again = run_module(image_convert, args)
    assert not again["changed"] and again["unchanged"] == 3 and len(again["images"]) == 3


def test_changed_source_and_deleted_output_are_redone(run_module, supplier_images):
    args = {"images_dir": str(supplier_images), "size": [60, 40]}
    run_module(image_convert, args)
    Image.new("RGB", (300, 200), (0, 0, 255)).save(supplier_images / "002.tiff")
    (supplier_images / "003.jpeg").unlink()
    redone = run_module(image_convert, args)
    assert sorted(item["output"].rsplit("/", 1)[1] for item in redone["converted"]) == ["002.jpeg", "003.jpeg"]


def test_a_broken_image_is_named_and_the_others_are_converted(run_module, supplier_images):
    (supplier_images / "004.tiff").write_text("not a picture")
    with pytest.raises(AnsibleFailJson) as failure:
        run_module(image_convert, {"images_dir": str(supplier_images), "size": [60, 40]})
    result = failure.value.args[0]
    assert "004.tiff: not an image" in result["msg"]
    assert len(result["converted"]) == 3
    tolerant = run_module(image_convert, {"images_dir": str(supplier_images), "size": [60, 40], "fail_on_item_errors": False})
    assert not tolerant["changed"] and tolerant["errors"][0]["source"].endswith("004.tiff")


def test_bad_options_are_clear(run_module, tmp_path):
    with pytest.raises(AnsibleFailJson, match="images_dir .* is not a directory"):
        run_module(image_convert, {"images_dir": str(tmp_path / "missing")})
    with pytest.raises(AnsibleFailJson, match="size must be two positive numbers"):
        run_module(image_convert, {"images_dir": str(tmp_path), "size": [600]})
    with pytest.raises(AnsibleFailJson, match="is not a colour"):
        run_module(image_convert, {"images_dir": str(tmp_path), "background": "not-a-colour"})


def test_the_old_names_still_work_and_are_deprecated(run_module, deprecations, supplier_images):
    result = run_module(image_convert, {"src": str(supplier_images), "workers": 1, "size": [60, 40]})
    assert len(result["images"]) == 3 and result["workers"] == 1
    assert deprecations() == [
        ("Alias 'src' is deprecated", "2.0.0", "fruitstore.catalog"),
        ("Alias 'workers' is deprecated", "2.0.0", "fruitstore.catalog")]


@pytest.mark.parametrize("module, args", [
    (image_convert, {"images_dir": "/i"}),
    (delivery_import, {"descriptions_dir": "/d", "images_dir": "/i", "store_url": "http://store.test/"}),
    (inbox_import, {"inbox": "/i", "supplier": "acme", "store_url": "http://store.test/"}),
], ids=lambda value: getattr(value, "__name__", "").rsplit(".", 1)[-1] or None)
def test_every_module_that_converts_refuses_an_old_pillow_at_its_start(run_module, monkeypatch, module, args):
    monkeypatch.setattr(_images, "PILLOW_VERSION", "10.4.0")
    with pytest.raises(AnsibleFailJson, match=r"Pillow 10\.4\.0 is installed .* needs Pillow >= 11\.0\.0"):
        run_module(module, args)
