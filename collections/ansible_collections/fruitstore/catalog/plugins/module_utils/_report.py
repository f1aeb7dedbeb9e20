# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.catalog collection; not a public API.
#
# The supplier's report: a PDF rendered with ReportLab, byte for byte the same for the same input.

from __future__ import annotations

import contextlib
import datetime
import hashlib
import io
import json
import os
import traceback
from concurrent.futures import ThreadPoolExecutor
from xml.sax.saxutils import escape

from ansible_collections.fruitstore.catalog.plugins.module_utils import _images as images
from ansible_collections.fruitstore.catalog.plugins.module_utils._deps import missing
from ansible_collections.fruitstore.catalog.plugins.module_utils._files import displayable

try:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab import rl_config
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import cm
    from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
except ImportError:
    SimpleDocTemplate = None
    REPORTLAB_IMPORT_ERROR = traceback.format_exc()
else:
    REPORTLAB_IMPORT_ERROR = None


def reportlab_problem():
    """None when ReportLab imported, else (message, traceback) for the module to fail with."""
    return missing("reportlab", REPORTLAB_IMPORT_ERROR)


TITLE_FORMAT = "Processed Update on {date}"
# Bump when the layout changes, so that reports rendered by an older version are rendered again.
LAYOUT_VERSION = 4
PICTURE_CM = (2.4, 1.6)  # width, height of a picture in the table


# Fonts embedded in the PDF, so that every name a supplier writes is readable: DejaVu Sans (Latin, Greek, Cyrillic ...)
# and, for what it lacks (Chinese, Japanese, Korean), Droid Sans Fallback; Debian's and Fedora's paths. Without them
# the report falls back to the PDF's built-in Helvetica, which shows only Latin-1.
FONT_FILES = {
    "FruitSans": ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf"),
    "FruitSans-Bold": ("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
                       "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans-Bold.ttf"),
    "FruitSans-Fallback": ("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
                           "/usr/share/fonts/google-droid-sans-fonts/DroidSansFallbackFull.ttf"),
}
_FONTS = {}


def font(name):
    """The font FONT_FILES names, registered on first use (once per process); None when it is not installed. The
    fallback font is large and rarely needed: only a name that needs it pays for reading it."""
    if name not in _FONTS:
        path = next((candidate for candidate in FONT_FILES[name] if os.path.exists(candidate)), None)
        _FONTS[name] = None
        if path:
            try:
                pdfmetrics.registerFont(TTFont(name, path))
                _FONTS[name] = name
            except Exception:  # a damaged font file: the report still renders, with Helvetica
                _FONTS[name] = None
    return _FONTS[name]


def markup(text):
    """text escaped for a Paragraph, runs of characters the main font lacks set in the fallback font."""
    text = displayable(text)
    main = font("FruitSans")
    if not main:
        return escape(text)
    covered = pdfmetrics.getFont(main).face.charToGlyph
    needs_fallback = [ord(char) not in covered and not char.isspace() for char in text]
    fallback = font("FruitSans-Fallback") if any(needs_fallback) else None
    if not fallback:
        return escape(text)
    parts, run, run_fallback = [], "", False
    for char, char_fallback in zip(text, needs_fallback):
        if char_fallback != run_fallback and run:
            parts.append('<font name="%s">%s</font>' % (fallback, escape(run)) if run_fallback else escape(run))
            run = ""
        run_fallback = char_fallback
        run += char
    if run:
        parts.append('<font name="%s">%s</font>' % (fallback, escape(run)) if run_fallback else escape(run))
    return "".join(parts)


def _styles():
    styles = getSampleStyleSheet()
    regular, bold = font("FruitSans"), font("FruitSans-Bold")
    if regular:
        for name in ("BodyText", "Italic", "Heading3"):
            styles[name].fontName = regular
        styles["Title"].fontName = bold or regular
        pdfmetrics.registerFontFamily(regular, normal=regular, bold=bold or regular, italic=regular,
                                      boldItalic=bold or regular)
    return styles


def long_date(day):
    """date(2026, 11, 2) -> 'November 2, 2026'."""
    return "%s %d, %d" % (day.strftime("%B"), day.day, day.year)


def parse_date(text):
    """'2026-11-22' -> 'November 22, 2026'; None -> today."""
    day = datetime.date.fromisoformat(text) if text else datetime.date.today()
    return long_date(day)


def fingerprint(title, products, heading=None, listed=()):
    """What the report is made of, pictures by size and time: equal fingerprints give equal PDFs."""
    parts = [LAYOUT_VERSION, title, heading, [[p["name"], p["weight"]] for p in listed]]
    for product in products:
        picture = product.get("image")
        try:
            stat = os.stat(picture) if picture else None
        except OSError:
            stat = None
        parts.append([product["name"], product["weight"], picture, stat and [stat.st_size, stat.st_mtime_ns]])
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def _thumbnails(paths, made=None):
    """The pictures' thumbnails as flowables (None where there is none): those made already (made: path -> JPEG
    bytes), the others made on every core (Pillow decodes and encodes without holding the GIL)."""
    made = made or {}

    def thumbnail(path):
        return made.get(path) or (images.thumbnail(path) if path else None)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return [Image(io.BytesIO(data), width=PICTURE_CM[0] * cm, height=PICTURE_CM[1] * cm) if data else None
                for data in pool.map(thumbnail, paths)]


def render(title, products, key="", heading=None, listed=(), thumbnails=None):
    """PDF bytes: the title, a table of the products (picture, 'name: X', 'weight: N lbs'), the total weight; then
    the products of the delivery the store already listed from another delivery, when there are any.

    heading says whose delivery it is (supplier, delivery, date). key is stored as the document's keywords, so that a
    later run can tell what a PDF was made of. thumbnails: the pictures' thumbnails made already (path -> JPEG)."""
    styles = _styles()
    body, small = styles["BodyText"], styles["Italic"]
    total = sum(product["weight"] for product in products)
    rows = [[Paragraph("<b>Picture</b>", body), Paragraph("<b>Product</b>", body)]]
    for product, thumbnail in zip(products, _thumbnails([product.get("image") for product in products], thumbnails)):
        rows.append([thumbnail or Paragraph("(no picture)", small),
                     Paragraph("name: %s<br/>weight: %d lbs" % (markup(product["name"]), product["weight"]), body)])
    rows.append(["", Paragraph("<b>Total weight: {:,} lbs</b> ({} products)".format(total, len(products)), body)])
    table = Table(rows, colWidths=[3 * cm, 14 * cm], repeatRows=1)
    table.setStyle(TableStyle([
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
        ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
        ("BACKGROUND", (0, -1), (-1, -1), colors.whitesmoke),
    ]))
    story = [Paragraph(markup(title), styles["Title"])]
    if heading:
        story.append(Paragraph(markup(heading), styles["Heading3"]))
    story += [Paragraph("Online Fruit Store: the products this supplier delivery brought into the store.", small),
              Spacer(1, 0.5 * cm), table]
    if listed:
        story += [Spacer(1, 0.5 * cm),
                  Paragraph("Already in the store (listed from another delivery, kept as the store has them):", body)]
        story += [Paragraph("name: %s, weight: %d lbs" % (markup(p["name"]), p["weight"]), body) for p in listed]
    buffer = io.BytesIO()
    # invariant: fixed creation date and document ID, so the same input gives the same bytes.
    document = SimpleDocTemplate(buffer, pagesize=A4, title=title, author="Online Fruit Store", keywords=key,
                                 invariant=1, leftMargin=2 * cm, rightMargin=2 * cm, topMargin=2 * cm,
                                 bottomMargin=2 * cm)
    with _binary_streams():
        document.build(story)
    return buffer.getvalue()


@contextlib.contextmanager
def _binary_streams():
    """Streams stored as they are, not as ASCII85 text: ReportLab encodes ASCII85 in pure Python (its C accelerator
    is a package of its own), which cost a third of a report's rendering, and made the PDF a quarter larger."""
    saved, rl_config.useA85 = rl_config.useA85, 0
    try:
        yield
    finally:
        rl_config.useA85 = saved
