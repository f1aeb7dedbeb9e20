"""What the end-to-end tests share: deliveries, the store's view of them, and suppliers' inboxes run by the import."""

import io
import os
import subprocess
import time

import requests
from pypdf import PdfReader

from tests.conftest import REPO
from tests.integration.playbook import PlaybookRun, environment
from tools.generate_delivery import generate

LAB = [("Apple", 500), ("Avocado", 200), ("Blackberry", 150), ("Grape", 200), ("Kiwifruit", 250),
       ("Lemon", 300), ("Mango", 300), ("Plum", 150), ("Strawberry", 240), ("Watermelon", 500)]


def store_products(store):
    return requests.get(store.url + "/fruits/", timeout=10).json()


def pictures_match(store, delivery):
    """Every product's picture is stored once, under its image_name, with the bytes of its own converted image."""
    products = store_products(store)
    assert sorted(path.name for path in store.images.iterdir()) == sorted(p["image_name"] for p in products)
    for product in products:
        stem = product["image_name"].rsplit("-", 1)[0]
        local = delivery / "images" / (stem + ".jpeg")
        assert (store.images / product["image_name"]).read_bytes() == local.read_bytes(), product
    return products


def small_delivery(directory, products, seed):
    """A delivery of small pictures (fast to convert) with the given (name, weight, description)."""
    generate(str(directory), count=len(products), size=(600, 400), seed=seed, workers=1)
    for number, (name, weight, description) in enumerate(products, 1):
        (directory / "descriptions" / ("%03d.txt" % number)).write_text("%s\n%d lbs\n%s\n" % (name, weight, description))
    return directory


def report_names(message):
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_filename() == "processed.pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(attachment.get_content())).pages)
    return sorted(line.split("name: ", 1)[1].strip() for line in text.splitlines() if "name: " in line)


def age(directory, seconds_ago):
    """Set every file of a delivery to have last changed that long ago (the supplier finished uploading then)."""
    moment = time.time() - seconds_ago
    for root, _dirs, files in os.walk(directory):
        for name in files:
            os.utime(os.path.join(root, name), (moment, moment))


def start_run(inventory, *options):
    return subprocess.Popen(["ansible-playbook", "-i", str(inventory), str(REPO / "playbooks" / "import_supplier.yml")]
                            + list(options), cwd=str(REPO), env=environment(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def run(inventory, *options):
    process = start_run(inventory, *options)
    output, _ = process.communicate(timeout=600)
    return PlaybookRun(process.returncode, output)
