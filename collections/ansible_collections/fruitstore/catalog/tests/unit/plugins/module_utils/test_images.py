# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import io

import pytest

Image = pytest.importorskip("PIL.Image")

from ansible_collections.fruitstore.catalog.plugins.module_utils import _images as images  # noqa: E402

SIZE = (60, 40)


def render(path, background=(255, 255, 255), max_pixels=10 ** 8):
    return Image.open(io.BytesIO(images.render_jpeg(str(path), SIZE, 90, background, max_pixels)))


def save(tmp_path, image, name, **options):
    path = tmp_path / name
    image.save(path, **options)
    return path


@pytest.mark.parametrize("mode", ["RGBA", "RGB", "L", "LA", "P", "CMYK", "I;16", "1"])
def test_every_mode_becomes_rgb_of_the_size(tmp_path, mode):
    source = Image.new("RGB", (300, 200), (200, 40, 40)).convert(mode)
    result = render(save(tmp_path, source, "a.tiff"))
    assert (result.format, result.size, result.mode) == ("JPEG", SIZE, "RGB")


@pytest.mark.parametrize("compression", [None, "tiff_lzw", "tiff_adobe_deflate"])
def test_fast_and_general_paths_give_the_same_picture(tmp_path, compression):
    source = Image.new("RGBA", (300, 200), (10, 120, 200, 255))
    options = {"compression": compression} if compression else {}
    pixel = render(save(tmp_path, source, "a.tiff", **options)).getpixel((30, 20))
    assert all(abs(a - b) <= 3 for a, b in zip(pixel, (10, 120, 200)))


def test_transparency_is_composited_onto_the_background(tmp_path):
    source = Image.new("RGBA", (300, 200), (255, 0, 0, 0))
    assert render(save(tmp_path, source, "a.tiff"), background=(0, 0, 255)).getpixel((30, 20))[2] > 240
    half = Image.new("RGBA", (300, 200), (0, 0, 0, 128))
    assert 120 <= render(save(tmp_path, half, "b.png")).getpixel((30, 20))[0] <= 135


def test_exif_orientation_is_applied(tmp_path):
    source = Image.new("RGB", (200, 300), (0, 200, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees: displayed as 300x200
    result = render(save(tmp_path, source, "a.jpg", exif=exif))
    assert result.size == SIZE


def test_multi_page_tiff_uses_the_first_page(tmp_path):
    first, second = Image.new("RGB", (300, 200), (250, 0, 0)), Image.new("RGB", (300, 200), (0, 0, 250))
    path = tmp_path / "pages.tiff"
    first.save(path, save_all=True, append_images=[second])
    assert render(path).getpixel((30, 20))[0] > 200


@pytest.mark.parametrize("content, cause", [
    (b"", "an empty file"),
    (b"this is a README, not a picture", "not an image: its content is no picture format"),
    (b"II*\x00\x08\x00\x00", "damaged or cut-short"),
])
def test_files_that_are_not_images_are_refused(tmp_path, content, cause):
    path = tmp_path / "fake.tiff"
    path.write_bytes(content)
    with pytest.raises(images.ConversionError, match=cause):
        render(path)


def test_truncated_tiff_is_refused(tmp_path):
    path = save(tmp_path, Image.new("RGB", (300, 200), (1, 2, 3)), "a.tiff", compression="tiff_lzw")
    path.write_bytes(path.read_bytes()[:2000])
    with pytest.raises(images.ConversionError):
        render(path)


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    path = save(tmp_path, Image.new("L", (300, 200)), "a.tiff")
    with pytest.raises(images.ConversionError, match="too many pixels"):
        render(path, max_pixels=1000)


def test_a_thumbnail_is_a_small_jpeg_with_transparency_on_white(tmp_path, monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10 ** 8)  # as a conversion in this process may have left it
    report = images.thumbnail(str(save(tmp_path, Image.new("RGB", (600, 400), "red"), "a.jpeg")))
    with Image.open(io.BytesIO(report)) as small:
        assert (small.format, small.size) == ("JPEG", (150, 100))
    see_through = save(tmp_path, Image.new("RGBA", (3000, 2000), (255, 0, 0, 0)), "b.tiff")
    with Image.open(io.BytesIO(images.thumbnail(str(see_through), (300, 200), quality=70))) as preview:
        assert preview.size == (300, 200) and min(preview.getpixel((150, 100))) > 245


def test_a_picture_that_cannot_be_read_has_no_thumbnail(tmp_path):
    (tmp_path / "a.tiff").write_bytes(b"not a picture")
    assert images.thumbnail(str(tmp_path / "a.tiff")) is None


@pytest.mark.parametrize("orientation, stored_turned_by",
                         [(1, None), (3, "ROTATE_180"), (6, "ROTATE_90"), (8, "ROTATE_270")])
@pytest.mark.parametrize("kind, options", [("tiff", {}), ("tiff", {"compression": "tiff_lzw"}), ("png", {}),
                                           ("jpg", {})], ids=["uncompressed RGBA TIFF", "LZW TIFF", "PNG", "JPEG"])
def test_a_picture_stored_turned_comes_out_upright(tmp_path, orientation, stored_turned_by, kind, options):
    from PIL import Image as PILImage
    upright = PILImage.new("RGBA", (300, 450), (200, 30, 30, 255))
    upright.paste((30, 30, 200, 255), (0, 0, 300, 60))  # a blue band at the top
    stored = upright.transpose(getattr(PILImage.Transpose, stored_turned_by)) if stored_turned_by else upright
    exif = PILImage.Exif()
    exif[0x0112] = orientation
    path = tmp_path / ("picture." + kind)
    (stored.convert("RGB") if kind == "jpg" else stored).save(path, exif=exif, **options)
    with PILImage.open(io.BytesIO(images.render_jpeg(str(path), (200, 300), 85, (255, 255, 255), 10 ** 8))) as out:
        top, bottom = out.getpixel((100, 5)), out.getpixel((100, 290))
    assert top[2] > 180 and top[0] < 60 and bottom[0] > 180 and bottom[2] < 60, (top, bottom)


def test_a_valid_tiff_the_converter_cannot_decode_is_named_as_such(tmp_path):
    import struct
    width, height = 30, 20
    pixels = struct.pack("<f", 1.0) * 3 * width * height
    entries = [(256, 4, 1, width), (257, 4, 1, height), (258, 3, 3, 134), (259, 3, 1, 1), (262, 3, 1, 2),
               (273, 4, 1, 146), (277, 3, 1, 3), (278, 4, 1, height), (279, 4, 1, len(pixels)), (339, 3, 3, 140)]
    path = tmp_path / "float.tiff"
    directory = b"".join(struct.pack("<HHII", *entry) for entry in entries)
    path.write_bytes(b"II*\x00" + struct.pack("<IH", 8, len(entries)) + directory + struct.pack("<I", 0)
                     + struct.pack("<6H", 32, 32, 32, 3, 3, 3) + pixels)
    with pytest.raises(images.ConversionError, match="a valid TIFF that cannot be decoded.*32-bit floating point"):
        images.render_jpeg(str(path), (600, 400), 85, (255, 255, 255), 10 ** 8)


@pytest.mark.parametrize("version, fails", [("10.4.0", True), ("9.5.0", True), ("11.0.0", False), ("11.3.0", False),
                                            ("13.0.0.dev0", False)])
def test_a_pillow_older_than_the_minimum_is_named_with_the_minimum(version, fails):
    problem = images.pillow_problem(version)
    if not fails:
        assert problem is None
        return
    message, traceback = problem
    assert message.startswith("Pillow %s is installed on " % version) and traceback is None
    assert "needs Pillow >= %s" % images.PILLOW_MIN_VERSION in message and "ansible_python_interpreter" in message


def test_a_missing_pillow_is_named_with_the_minimum(monkeypatch):
    monkeypatch.setattr(images, "PIL_IMPORT_ERROR", "Traceback ...\nModuleNotFoundError: No module named 'PIL'\n")
    message, traceback = images.pillow_problem()
    assert message.startswith("Failed to import the required Python library (Pillow >= %s)" % images.PILLOW_MIN_VERSION)
    assert "No module named 'PIL'" in traceback
