"""The supplier import, end to end: ansible-playbook against the real store and a real SMTP server."""

import datetime
import io
import time

import pytest
import requests
from PIL import Image
from pypdf import PdfReader

from tests.conftest import import_lab
from tests.integration.deliveries import LAB, pictures_match, store_products
from tests.integration.playbook import run_import, start_import

STEMS = ["%03d" % number for number in range(1, 11)]


def expected_descriptions(delivery):
    """Line 3 of each description, as the store must hold it (whitespace, NBSP included, stripped)."""
    return {stem: [line.strip() for line in (delivery / "descriptions" / (stem + ".txt")).read_text().splitlines()
                   if line.strip()][2] for stem in STEMS}


@pytest.fixture(scope="module")
def imported(store_factory, lab_delivery, tmp_path_factory):
    """The lab's delivery imported twice into an empty store; everything the tests look at afterwards."""
    imported = import_lab(store_factory, lab_delivery, tmp_path_factory, runs=2)
    first, second = imported["runs"]
    return dict(imported, first=first, second=second, posts_after_first=imported["posts"][0])


def test_first_run_imports_the_ten_lab_products(imported):
    first = imported["first"]
    assert first.returncode == 0, first.output
    assert first.recap["changed"] == 1 and first.recap["failed"] == 0  # one module call does the whole import
    descriptions = expected_descriptions(imported["delivery"])
    products = store_products(imported["store"])
    assert [(p["name"], p["weight"]) for p in products] == LAB
    assert [p["image_name"][:4] for p in products] == [stem + "-" for stem in STEMS]
    assert len(set(p["image_name"] for p in products)) == 10
    assert [p["description"] for p in products] == [descriptions[stem] for stem in STEMS]
    assert all(isinstance(p["weight"], int) for p in products)


def test_each_image_is_stored_once_under_its_own_name(imported):
    assert len(pictures_match(imported["store"], imported["delivery"])) == 10


def test_every_jpeg_is_600x400_rgb(imported):
    for stem in STEMS:
        with Image.open(imported["delivery"] / "images" / (stem + ".jpeg")) as image:
            assert (image.format, image.size, image.mode) == ("JPEG", (600, 400), "RGB")


def test_every_jpeg_may_be_read_by_whoever_may_read_the_supplier_files(imported):
    images = imported["delivery"] / "images"
    modes = {path.suffix: oct(path.stat().st_mode & 0o777) for path in sorted(images.glob("00[12].*"))}
    assert modes[".jpeg"] == modes[".tiff"], modes


def test_catalog_page_shows_every_product_with_its_image(imported):
    page = requests.get(imported["store"].url + "/", timeout=10).text
    for (name, weight), stem in zip(LAB, STEMS):
        assert page.count(name) >= 1
        assert "Weight: %d lbs" % weight in page
        assert "/media/images/%s-" % stem in page


def test_report_pdf_lists_every_product_and_the_total(imported):
    text = "\n".join(page.extract_text() for page in PdfReader(imported["delivery"] / "processed.pdf").pages)
    today = datetime.date.today()
    assert "Processed Update on %s %d, %d" % (today.strftime("%B"), today.day, today.year) in text
    for name, weight in LAB:
        assert "name: %s" % name in text
        assert "weight: %d lbs" % weight in text
    assert "2,790 lbs" in text


def test_one_mail_with_the_report_attached(imported):
    messages = imported["messages"]
    assert len(messages) == 1
    message = messages[0]
    assert message["Subject"] == "Upload Completed - Online Fruit Store"
    assert message["From"] == "automation@example.com"
    assert message["To"] == "supplier@example.com"
    assert message["Date"] and message["Message-ID"]
    body = message.get_body(("plain",)).get_content()
    assert "All fruits are uploaded to our website successfully. A detailed list is attached to this email." in body
    assert "2,790 lbs" in body
    assert "Mail:     sent to supplier@example.com" in imported["first"].output
    (attachment,) = list(message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "processed.pdf"
    assert attachment.get_content() == (imported["delivery"] / "processed.pdf").read_bytes()
    PdfReader(io.BytesIO(attachment.get_content()))


def test_second_run_changes_nothing_and_posts_nothing(imported):
    second = imported["second"]
    assert second.returncode == 0, second.output
    assert second.recap["changed"] == 0, second.output
    assert imported["store"].requests("POST") == imported["posts_after_first"]
    assert len(imported["posts_after_first"]) == 20  # 10 images and 10 products, each once
    assert "Mail:     already sent to supplier@example.com for this import" in second.output


def test_check_mode_on_an_empty_store_predicts_and_touches_nothing(store_factory, delivery, mail_server):
    store = store_factory()
    before = sorted(path.name for path in (delivery / "images").iterdir())
    result = run_import(delivery, store, mail_server, "--check")
    assert result.returncode == 0, result.output
    assert result.recap["changed"] == 1
    assert "Products: 10 new (would be posted)" in result.output
    assert "Images:   10 would be converted" in result.output
    assert "Mail:     would be sent to supplier@example.com" in result.output
    assert store.requests("POST") == []
    assert sorted(path.name for path in (delivery / "images").iterdir()) == before
    assert not (delivery / "processed.pdf").exists()
    assert not (delivery / ".fruitstore").exists()
    assert mail_server.messages() == []


def test_an_import_cut_short_by_the_store_is_finished_by_the_rerun(store_factory, delivery, mail_server, tmp_path):
    from tools.services import Store

    slow = store_factory(FRUITSTORE_STORE_WRITE_DELAY_MS="300")
    running = start_import(delivery, slow, mail_server)
    deadline = time.monotonic() + 60
    while len(slow.requests("POST /fruits/")) < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    slow.stop()
    cut_short = running.finish()
    assert cut_short.returncode != 0
    assert "not imported" in cut_short.output
    assert 4 <= len(store_products_from_db(slow)) < 10
    assert mail_server.messages() == []  # the mail waits for the whole delivery

    with Store(slow.data_dir, port=slow.port) as restarted:
        rerun = run_import(delivery, restarted, mail_server)
        assert rerun.returncode == 0, rerun.output
        products = store_products(restarted)
        assert sorted((p["name"], p["weight"]) for p in products) == sorted(LAB)
        pictures_match(restarted, delivery)
    assert len(mail_server.messages()) == 1


def store_products_from_db(store):
    import sqlite3

    with sqlite3.connect(str(store.data_dir) + "/db.sqlite3") as db:
        return db.execute("SELECT name FROM catalog_fruit").fetchall()
