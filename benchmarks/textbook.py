#!/usr/bin/env python3
"""The textbook supplier import, written plainly: the baseline the benchmark runs beside the collection.

One image at a time, one request at a time, a new connection for each request, as the lab's scripts do it:

    python benchmarks/textbook.py convert DELIVERY/images
    python benchmarks/textbook.py import DELIVERY --store http://127.0.0.1:8000 --smtp-host 127.0.0.1 --smtp-port 8025 \
        --report /tmp/processed.pdf --recipient supplier@example.com

`import` converts, posts every image and product, renders the PDF and mails it; it keeps no state (a second run
posts everything again).
"""

import argparse
import datetime
import email.message
import os
import smtplib
import sys

import requests
from PIL import Image
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer


def convert_images(images_dir):
    """Every TIFF -> <stem>.jpeg beside it, 600x400 RGB."""
    for name in sorted(os.listdir(images_dir)):
        stem, extension = os.path.splitext(name)
        if extension != ".tiff":
            continue
        path = os.path.join(images_dir, name)
        Image.open(path).convert("RGB").resize((600, 400)).save(os.path.join(images_dir, stem + ".jpeg"), "JPEG")


def read_description(path):
    with open(path, encoding="utf-8") as handle:
        lines = [line.strip() for line in handle.read().splitlines() if line.strip()]
    return {"name": lines[0], "weight": int(lines[1].split()[0]), "description": lines[2]}


def upload(delivery, store):
    """For each product in turn: POST its image to /upload/, then the product to /fruits/. Returns the products."""
    images_dir = os.path.join(delivery, "images")
    descriptions_dir = os.path.join(delivery, "descriptions")
    products = []
    for name in sorted(os.listdir(descriptions_dir)):
        stem = os.path.splitext(name)[0]
        image_name = stem + ".jpeg"
        with open(os.path.join(images_dir, image_name), "rb") as image:
            response = requests.post(store + "/upload/", files={"file": image}, timeout=30)
        response.raise_for_status()
        product = read_description(os.path.join(descriptions_dir, name))
        product["image_name"] = image_name
        response = requests.post(store + "/fruits/", json=product, timeout=30)
        response.raise_for_status()
        products.append(product)
    return products


def render_report(path, products):
    styles = getSampleStyleSheet()
    title = "Processed Update on " + datetime.date.today().strftime("%B %d, %Y")
    story = [Paragraph(title, styles["Title"])]
    for product in products:
        text = "name: %s<br/>weight: %d lbs" % (product["name"], product["weight"])
        story.append(Paragraph(text, styles["BodyText"]))
        story.append(Spacer(1, 12))
    total = sum(product["weight"] for product in products)
    story.append(Paragraph("Total weight: %d lbs" % total, styles["BodyText"]))
    SimpleDocTemplate(path).build(story)
    return total


def mail_report(path, total, host, port, recipient):
    message = email.message.EmailMessage()
    message["From"] = "automation@example.com"
    message["To"] = recipient
    message["Subject"] = "Upload Completed - Online Fruit Store"
    message.set_content("All fruits are uploaded to our website successfully. A detailed list is attached to this "
                        "email.\n\nTotal weight uploaded: %d lbs.\n" % total)
    with open(path, "rb") as handle:
        message.add_attachment(handle.read(), maintype="application", subtype="pdf", filename="processed.pdf")
    with smtplib.SMTP(host, port, timeout=30) as server:
        server.send_message(message)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    convert = commands.add_parser("convert", help="convert a directory of images")
    convert.add_argument("images_dir")
    whole = commands.add_parser("import", help="convert, upload, report and mail a delivery")
    whole.add_argument("delivery")
    whole.add_argument("--store", required=True, help="the store's base URL, e.g. http://127.0.0.1:8000")
    whole.add_argument("--smtp-host", default="localhost")
    whole.add_argument("--smtp-port", type=int, default=25)
    whole.add_argument("--report", default="/tmp/processed.pdf")
    whole.add_argument("--recipient", default="supplier@example.com")
    args = parser.parse_args(argv)
    if args.command == "convert":
        convert_images(args.images_dir)
        return 0
    convert_images(os.path.join(args.delivery, "images"))
    products = upload(args.delivery, args.store.rstrip("/"))
    total = render_report(args.report, products)
    mail_report(args.report, total, args.smtp_host, args.smtp_port, args.recipient)
    return 0


if __name__ == "__main__":
    sys.exit(main())
