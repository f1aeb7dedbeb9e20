# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.catalog collection; not a public API.
#
# The supplier's report: a PDF rendered with ReportLab, byte for byte the same for the same input.

from __future__ import annotations

import datetime
import io
import traceback
from xml.sax.saxutils import escape

try:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import cm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer
except ImportError:
    SimpleDocTemplate = None
    REPORTLAB_IMPORT_ERROR = traceback.format_exc()
else:
    REPORTLAB_IMPORT_ERROR = None

TITLE_FORMAT = "Processed Update on {date}"


def long_date(day):
    """date(2026, 11, 2) -> 'November 2, 2026'."""
    return "%s %d, %d" % (day.strftime("%B"), day.day, day.year)


def parse_date(text):
    """'2026-11-22' -> 'November 22, 2026'; None -> today."""
    day = datetime.date.fromisoformat(text) if text else datetime.date.today()
    return long_date(day)


def render(title, products):
    """PDF bytes: the title, then 'name: X' and 'weight: N lbs' per product, then the total weight."""
    styles = getSampleStyleSheet()
    body = styles["BodyText"]
    story = [Paragraph(escape(title), styles["Title"]), Spacer(1, 0.4 * cm)]
    for product in products:
        story.append(Paragraph("name: %s<br/>weight: %d lbs" % (escape(product["name"]), product["weight"]), body))
        story.append(Spacer(1, 0.4 * cm))
    total = sum(product["weight"] for product in products)
    story.append(Paragraph("<b>Total weight: {:,} lbs</b> ({} products)".format(total, len(products)), body))
    buffer = io.BytesIO()
    # invariant: fixed creation date and document ID, so the same input gives the same bytes.
    document = SimpleDocTemplate(buffer, pagesize=A4, title=title, author="fruitstore", invariant=1,
                                 leftMargin=2 * cm, rightMargin=2 * cm, topMargin=2 * cm, bottomMargin=2 * cm)
    document.build(story)
    return buffer.getvalue()
