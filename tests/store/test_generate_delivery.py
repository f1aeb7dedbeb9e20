"""tools/generate_delivery.py writes a delivery shaped like the lab's supplier data."""
import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, UnidentifiedImageError

from tools import generate_delivery as gd  # importable thanks to conftest.py

REPO = Path(__file__).resolve().parents[2]

NBSP = "\u00a0"
LAB_SET = [("Apple", 500), ("Avocado", 200), ("Blackberry", 150), ("Grape", 200), ("Kiwifruit", 250),
           ("Lemon", 300), ("Mango", 300), ("Plum", 150), ("Strawberry", 240), ("Watermelon", 500)]
SIZE = (300, 200)


@pytest.fixture(scope="module")
def delivery(tmp_path_factory):
    out = tmp_path_factory.mktemp("delivery")
    return out, gd.generate(out, count=12, size=SIZE, seed=7, workers=1)


def test_layout(delivery):
    out, items = delivery
    stems = [f"{i:03d}" for i in range(1, 13)]
    assert [stem for stem, _, _ in items] == stems
    assert sorted(p.name for p in (out / "images").iterdir()) == [f"{s}.tiff" for s in stems] + ["LICENSE", "README"]
    assert sorted(p.name for p in (out / "descriptions").iterdir()) == [f"{s}.txt" for s in stems]
    for name in ("README", "LICENSE"):
        assert (out / "images" / name).read_text(encoding="utf-8").strip()
        with pytest.raises(UnidentifiedImageError):
            Image.open(out / "images" / name)


def test_products_start_with_the_lab_set(delivery):
    _, items = delivery
    assert [(name, weight) for _, name, weight in items[:10]] == LAB_SET
    assert sum(weight for _, _, weight in items[:10]) == 2790
    assert [name for _, name, _ in items[10:]] == ["Apple 011", "Avocado 012"]
    assert all(isinstance(w, int) and w > 0 for _, _, w in items)
    assert gd.products(12) == items


def test_stems_are_padded_to_the_count():
    assert gd.products(999)[0][0] == "001" and gd.products(999)[-1][0] == "999"
    items = gd.products(1000)
    assert items[0][0] == "0001" and items[-1][0] == "1000"
    assert len({name for _, name, _ in items}) == 1000


def test_images_are_rgba_8bit_uncompressed_and_photo_like(delivery):
    out, items = delivery
    for stem, _, _ in items:
        with Image.open(out / "images" / f"{stem}.tiff") as im:
            assert (im.format, im.mode, im.size) == ("TIFF", "RGBA", SIZE)
            assert im.tag_v2[259] == 1  # no compression
            assert tuple(im.tag_v2[258]) == (8, 8, 8, 8)
            rgb = im.convert("RGB")
            assert rgb.getcolors(2000) is None, "more than 2000 colours: not flat"
            assert all(hi - lo > 40 for lo, hi in rgb.getextrema())
            alpha = im.getchannel("A")
            assert alpha.getpixel((SIZE[0] // 2, SIZE[1] // 2)) == 255
            assert alpha.getpixel((0, 0)) < 128  # the soft transparent rim
            assert alpha.histogram()[255] > 0.8 * SIZE[0] * SIZE[1]


@pytest.mark.parametrize("compression, tag", [("none", 1), (None, 1), ("tiff_lzw", 5), ("tiff_adobe_deflate", 8)])
def test_compression(tmp_path, compression, tag):
    gd.generate(tmp_path, count=1, compression=compression, size=(60, 40), workers=1)
    with Image.open(tmp_path / "images" / "001.tiff") as im:
        assert im.tag_v2[259] == tag and im.mode == "RGBA"
        im.load()


def test_unknown_compression_is_refused(tmp_path):
    with pytest.raises(ValueError):
        gd.generate(tmp_path, count=1, compression="jpeg", size=(60, 40))


def test_descriptions_have_the_lab_quirks(delivery):
    out, items = delivery
    texts = [(out / "descriptions" / f"{stem}.txt").read_bytes().decode("utf-8") for stem, _, _ in items]
    for text, (_, name, weight) in zip(texts, items):
        lines = [line.strip() for line in text.splitlines()]
        assert [line for line in lines if line] == lines[:3]
        assert lines[0] == name and lines[1] == f"{weight} lbs"
        assert len(lines[2]) > 100 and "\n" not in lines[2]
        assert "\r" not in text
    assert any(text.endswith("\n\n") for text in texts) and any(not text.endswith("\n\n") for text in texts)
    for line_no in range(3):
        assert any(text.splitlines()[line_no].endswith(NBSP) for text in texts)
    assert any("\u2019" in text for text in texts)
    assert any(len(name) == 10 for _, name, _ in items)
    assert all(re.fullmatch(r"\d+ lbs", text.splitlines()[1].strip()) for text in texts)


def test_same_seed_same_bytes_in_parallel_too(delivery, tmp_path):
    out, _ = delivery
    gd.generate(tmp_path, count=12, size=SIZE, seed=7, workers=2)
    for sub in ("images", "descriptions"):
        for path in (out / sub).iterdir():
            assert (tmp_path / sub / path.name).read_bytes() == path.read_bytes(), path.name


def test_other_seed_other_images_same_descriptions(delivery, tmp_path):
    out, _ = delivery
    gd.generate(tmp_path, count=2, size=SIZE, seed=8, workers=1)
    assert (tmp_path / "images" / "001.tiff").read_bytes() != (out / "images" / "001.tiff").read_bytes()
    assert (tmp_path / "descriptions" / "001.txt").read_bytes() == (out / "descriptions" / "001.txt").read_bytes()


def test_cli(tmp_path):
    cmd = [sys.executable, "tools/generate_delivery.py", str(tmp_path), "--count", "2", "--size", "30x20",
           "--compression", "tiff_lzw", "--seed", "3", "--workers", "1"]
    run = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=True)
    assert re.search(r"Wrote 2 products \(700 lbs\) to .* in \d+\.\d\d s", run.stdout)
    with Image.open(tmp_path / "images" / "002.tiff") as im:
        assert im.size == (30, 20) and im.tag_v2[259] == 5
    bad = subprocess.run(cmd[:3] + ["--size", "big"], cwd=REPO, capture_output=True, text=True)
    assert bad.returncode == 2 and "WIDTHxHEIGHT" in bad.stderr


def test_names_from_gives_each_delivery_names_of_its_own(tmp_path):
    first = gd.generate(tmp_path / "first", count=12, size=(60, 40), workers=1, names_from="7")
    second = gd.generate(tmp_path / "second", count=12, size=(60, 40), workers=1, names_from="8")
    lab = gd.products(12)
    assert [name for _, name, _ in first] == [name + " (batch 7)" for _, name, _ in lab]
    assert not {name for _, name, _ in first} & {name for _, name, _ in second}
    assert not {name for _, name, _ in first} & {name for _, name, _ in lab}
    # The rest is the lab's delivery: the same stems and weights, each name on the first line of its description.
    assert [(stem, weight) for stem, _, weight in first] == [(stem, weight) for stem, _, weight in lab]
    for stem, name, _ in first:
        assert (tmp_path / "first" / "descriptions" / f"{stem}.txt").read_text(encoding="utf-8").splitlines()[0] \
            .rstrip(NBSP) == name
    assert all(len(name) <= 100 for _, name, _ in gd.products(10 ** 6, "x" * gd.BATCH_MAX)[-10:])


# The descriptions of a default delivery of 12, as the tool wrote them before --names-from existed.
DEFAULT_DESCRIPTIONS_SHA256 = "78b92b9da14b971b996363a0b74785970465f82afb3dfefc79edbfb46e90227b"


def test_without_names_from_the_delivery_is_the_lab_one(delivery, tmp_path):
    out, items = delivery
    assert gd.products(12, None) == items
    assert [(name, weight) for _, name, weight in items[:10]] == LAB_SET
    digest = hashlib.sha256()
    for path in sorted((out / "descriptions").iterdir()):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    assert digest.hexdigest() == DEFAULT_DESCRIPTIONS_SHA256
    run = subprocess.run([sys.executable, "tools/generate_delivery.py", str(tmp_path), "--count", "12", "--size",
                          "%dx%d" % SIZE, "--seed", "7", "--workers", "1"], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    for sub in ("images", "descriptions"):
        for path in (out / sub).iterdir():
            assert (tmp_path / sub / path.name).read_bytes() == path.read_bytes(), path.name


@pytest.mark.parametrize("batch", ["", " 7", "7\n", "7\u00a0", "x" * (gd.BATCH_MAX + 1)])
def test_a_batch_name_that_would_not_survive_is_refused(tmp_path, batch):
    with pytest.raises(ValueError, match="not usable in a product name"):
        gd.generate(tmp_path, count=1, size=(60, 40), workers=1, names_from=batch)
    bad = subprocess.run([sys.executable, "tools/generate_delivery.py", str(tmp_path), "--names-from", batch],
                         cwd=REPO, capture_output=True, text=True)
    assert bad.returncode == 2 and "not usable in a product name" in bad.stderr
