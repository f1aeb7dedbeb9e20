"""A delivery full of what suppliers really send: each case a product, a file and the outcome it must have."""

import struct
import zlib

from PIL import Image

GOOD_TEXT = "{name}\n{weight}\nA fine fruit from our orchards.\n"


def _picture(mode="RGBA", size=(450, 300), colour=(180, 60, 40, 255)):
    image = Image.new("RGBA", size, colour)
    return image if mode == "RGBA" else image.convert(mode)


def _bomb_png(path):
    """A small PNG whose header declares 100000 x 100000 pixels."""
    _picture("RGB").save(path)
    data = bytearray(path.read_bytes())
    ihdr = 8 + 8  # signature, then length and type of the IHDR chunk
    data[ihdr:ihdr + 8] = struct.pack(">II", 100000, 100000)
    data[ihdr + 13:ihdr + 17] = struct.pack(">I", zlib.crc32(bytes(data[ihdr - 4:ihdr + 13])))
    path.write_bytes(bytes(data))


def _exif_rotated_jpeg(path):
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated by 90 degrees: a 300x450 file displays as 450x300
    _picture("RGB", size=(300, 450)).save(path, exif=exif)


def _multi_page(path):
    _picture("RGB").save(path, save_all=True, append_images=[_picture("RGB", colour=(0, 0, 255, 255))])


def _truncated(path):
    _picture("RGB").save(path, compression="tiff_lzw")
    path.write_bytes(path.read_bytes()[:1500])


# (stem, image file name or None, image writer, description bytes or None, expected: None = imported, else a
#  fragment of the error the user must see, case label)
def cases(outside_file):
    def image(mode="RGBA", **options):
        return lambda path: _picture(mode).save(path, **options)

    def text(name, weight="300 lbs", description="A fine fruit from our orchards.", encoding="utf-8", newline="\n"):
        return (newline.join([name, weight, description]) + newline).encode(encoding)

    return [
        ("b01", "b01.tiff", lambda p: p.write_bytes(b""), text("Zero Byte"), "empty file", "image: a zero-byte file"),
        ("b02", "b02.tiff", _truncated, text("Truncated"), "cut-short", "image: a truncated TIFF"),
        ("b03", "b03.tiff", lambda p: p.write_text("Thanks for your order!\n"), text("Text File"), "not an image",
         "image: a text file named .tiff"),
        ("b04", "b04.png", _bomb_png, text("Bomb"), "too many pixels", "image: a decompression bomb (100000x100000 declared)"),
        ("b05", "b05.tiff", image("CMYK"), text("Cmyk Plum"), None, "image: CMYK TIFF"),
        ("b06", "b06.tiff", image("I;16"), text("Sixteen Bit"), None, "image: 16-bit grayscale TIFF"),
        ("b07", "b07.tiff", image("P"), text("Palette Pear"), None, "image: palette TIFF"),
        ("b08", "b08.tiff", image("LA"), text("Gray Alpha"), None, "image: grayscale + alpha TIFF"),
        ("b09", "b09.tiff", _multi_page, text("Two Pages"), None, "image: multi-page TIFF"),
        ("b10", "b10.jpg", _exif_rotated_jpeg, text("Rotated"), None, "image: EXIF-rotated JPEG"),
        ("b11", "b11.png", image("RGBA"), text("Png Peach"), None, "image: PNG with alpha"),
        ("b12", "b12.TIFF", image("RGB"), text("Upper Case"), None, "image: upper-case extension .TIFF"),
        ("fig pêche 13", "fig pêche 13.tiff", image("RGB"), text("Spaced Fig"), None,
         "image: name with spaces and non-ASCII"),
        ("b14", "b14.tiff", lambda p: p.symlink_to(outside_file), text("Escaping Link"), "outside",
         "image: a symlink pointing out of the directory"),
        ("d01", "d01.tiff", image(), b"Only A Name\n300 lbs\n", "three lines", "description: missing lines"),
        ("d02", "d02.tiff", image(), text("Glued", "500lbs"), None, "description: `500lbs`"),
        ("d03", "d03.tiff", image(), text("Shouted", "500 LBS"), None, "description: `500 LBS`"),
        ("d04", "d04.tiff", image(), text("Thousands", "1,200 lbs"), None, "description: `1,200 lbs`"),
        ("d05", "d05.tiff", image(), text("In Words", "five hundred"), "five hundred", "description: `five hundred`"),
        ("d06", "d06.tiff", image(), text("Negative", "-5 lbs"), "-5 lbs", "description: a negative weight"),
        ("d07", "d07.tiff", image(), text("Absurd", "9,000,000 lbs"), "out of range", "description: an absurd weight"),
        ("d08", "d08.tiff", image(), text("Pfirsich", description="Sch\u00f6n und s\u00fc\u00df.", encoding="latin-1"),
         None, "description: Latin-1 bytes"),
        ("d09", "d09.tiff", image(), b"\xef\xbb\xbf" + text("Bom Berry"), None, "description: a UTF-8 BOM"),
        ("d10", "d10.tiff", image(), text("Crlf Cherry", newline="\r\n"), None, "description: CRLF line endings"),
        ("d11", "d11.tiff", image(), text("N" * 101), "name is 101 characters", "description: a name over 100 characters"),
        ("d12", "d12.tiff", image(), text("Long Lime", description="x" * 5001), "description is 5001 characters",
         "description: a description over 5,000 characters"),
        ("d13", "d13.tiff", image(), None, "without a description", "an image without a description"),
        ("d14", None, None, text("No Image"), "without an image", "a description without an image"),
    ]


def write(delivery, outside_file):
    """Add every case to the delivery; return the cases."""
    _picture("RGB").save(outside_file)
    all_cases = cases(outside_file)
    for stem, image_name, writer, description, _expected, _label in all_cases:
        if image_name:
            writer(delivery / "images" / image_name)
        if description is not None:
            (delivery / "descriptions" / (stem + ".txt")).write_bytes(description)
    return all_cases
