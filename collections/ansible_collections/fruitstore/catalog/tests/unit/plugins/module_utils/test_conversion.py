# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import io
import multiprocessing
import os

import pytest

Image = pytest.importorskip("PIL.Image")

from ansible_collections.fruitstore.catalog.plugins.module_utils import _conversion as conversion  # noqa: E402
from ansible_collections.fruitstore.catalog.plugins.module_utils import _images as images  # noqa: E402

SIZE = (60, 40)
SETTINGS = {"size": list(SIZE), "quality": 90, "background": [255, 255, 255], "max_pixels": 10 ** 8}


def save(tmp_path, image, name):
    path = tmp_path / name
    image.save(path)
    return path


def test_each_source_has_its_jpeg_beside_it_and_our_jpegs_are_no_sources():
    assert conversion.output_path("/d/images", "003.tiff") == "/d/images/003.jpeg"
    assert conversion.output_path("/d/out", "a.b.PNG") == "/d/out/a.b.jpeg"
    names = ["001.tiff", "001.jpeg", "002.jpeg", "003.png", "003.jpeg", "003.JPEG", "README"]
    assert conversion.our_outputs(names) == {"001.jpeg", "003.jpeg"}  # 002.jpeg is the supplier's own picture


def test_plan_skips_non_images_and_our_own_outputs(tmp_path):
    for name in ("001.tiff", "002.png", "README", "LICENSE"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "001.jpeg").write_bytes(b"x")
    manifest = conversion.Manifest(str(tmp_path / "m.json"), {"s": 1}, print)
    to_convert, current, not_images, failed = conversion.plan(str(tmp_path), str(tmp_path), manifest)
    assert [name for name, _src, _out in to_convert] == ["001.tiff", "002.png"]
    assert sorted(os.path.basename(item["source"]) for item in not_images) == ["LICENSE", "README"]
    assert current == [] and failed == []


def test_plan_refuses_clashing_stems_and_escaping_links(tmp_path):
    (tmp_path / "003.tiff").write_bytes(b"x")
    (tmp_path / "003.png").write_bytes(b"x")
    outside = tmp_path.parent / "outside.tiff"
    outside.write_bytes(b"x")
    (tmp_path / "004.tiff").symlink_to(outside)
    manifest = conversion.Manifest(str(tmp_path / "m.json"), {}, print)
    to_convert, _current, _not_images, failed = conversion.plan(str(tmp_path), str(tmp_path), manifest)
    assert to_convert == []
    errors = {os.path.basename(item["source"]): item["error"] for item in failed}
    assert "several sources" in errors["003.tiff"] and "several sources" in errors["003.png"]
    assert "outside" in errors["004.tiff"]


def test_manifest_marks_converted_images_current_until_source_or_settings_change(tmp_path):
    source = save(tmp_path, Image.new("RGB", (300, 200)), "001.tiff")
    output = str(tmp_path / "001.jpeg")
    result = conversion.convert_one((str(source), output, None, SETTINGS, False))
    assert result["rewritten"] and result["thumbnail"] is None
    manifest = conversion.Manifest(str(tmp_path / "m.json"), SETTINGS, print)
    manifest.record("001.tiff", result)
    manifest.save()
    assert conversion.Manifest(str(tmp_path / "m.json"), SETTINGS, print).is_current("001.tiff", str(source), output)
    assert not conversion.Manifest(str(tmp_path / "m.json"), dict(SETTINGS, quality=80), print).is_current("001.tiff", str(source), output)
    os.utime(source, ns=(1, 1))
    touched = conversion.Manifest(str(tmp_path / "m.json"), SETTINGS, print)
    assert not touched.is_current("001.tiff", str(source), output)
    again = conversion.convert_one((str(source), output, touched.previous_sha256("001.tiff"), SETTINGS, False))
    assert not again["rewritten"]  # same picture: the output is left alone


def test_a_picture_gets_the_mode_of_a_new_file_and_the_manifest_stays_private(tmp_path):
    umask = os.umask(0o027)  # the module reads it when imported; the test sets another to tell the two apart
    os.umask(umask)
    source = save(tmp_path, Image.new("RGB", (300, 200)), "001.tiff")
    conversion.convert_one((str(source), str(tmp_path / "001.jpeg"), None, SETTINGS, False))
    manifest = conversion.Manifest(str(tmp_path / "m.json"), SETTINGS, print)
    manifest.save()
    assert oct(os.stat(tmp_path / "001.jpeg").st_mode & 0o777) == oct(0o666 & ~umask)
    assert oct(os.stat(tmp_path / "m.json").st_mode & 0o777) == oct(0o600)


def test_a_conversion_for_an_import_makes_the_report_thumbnail_of_its_output(tmp_path):
    source = save(tmp_path, Image.new("RGB", (3000, 2000), "red"), "001.tiff")
    output = str(tmp_path / "001.jpeg")
    result = conversion.convert_one((str(source), output, None, dict(SETTINGS, size=[600, 400]), True))
    assert result["thumbnail"] == images.thumbnail(output)  # what the report would have made of the file
    with Image.open(io.BytesIO(result["thumbnail"])) as thumbnail:
        assert thumbnail.format == "JPEG" and thumbnail.size == (150, 100)


def test_run_in_parallel_returns_every_result(tmp_path):
    jobs = []
    for number in range(4):
        source = save(tmp_path, Image.new("RGB", (300, 200), (number * 50, 0, 0)), "%d.tiff" % number)
        jobs.append((str(source), str(tmp_path / ("%d.jpeg" % number)), None, SETTINGS, False))
    jobs.append((str(tmp_path / "missing.tiff"), str(tmp_path / "missing.jpeg"), None, SETTINGS, False))
    results = list(conversion.run_jobs(jobs, workers=2))
    assert sorted(r["source"] for r in results) == sorted(job[0] for job in jobs)
    assert [r for r in results if "error" in r][0]["source"].endswith("missing.tiff")


def test_run_says_when_its_processes_are_forked_before_the_first_result(tmp_path):
    jobs = [(str(save(tmp_path, Image.new("RGB", (300, 200)), "%d.tiff" % number)),
             str(tmp_path / ("%d.jpeg" % number)), None, SETTINGS, False) for number in range(4)]
    children_when_forked = []
    results = conversion.run_jobs(jobs, workers=2, forked=lambda: children_when_forked.append(
        len(multiprocessing.active_children())))
    next(results)
    assert children_when_forked == [2]  # both conversion processes exist: a thread started now is not copied
    assert len(list(results)) == 3


def test_only_a_conversion_process_yields_the_cpu(monkeypatch):
    niced = []
    monkeypatch.setattr(conversion.os, "nice", niced.append)
    monkeypatch.setattr(conversion, "_WORKER_NICED", [])
    conversion._yield_the_cpu()
    assert niced == []  # the module's own process (one worker converts in it) keeps its priority
    monkeypatch.setattr(conversion.multiprocessing, "parent_process", object)
    conversion._yield_the_cpu()
    conversion._yield_the_cpu()
    assert niced == [conversion.WORKER_NICENESS]
