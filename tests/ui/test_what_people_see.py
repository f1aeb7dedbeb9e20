"""What a person sees after an import: the catalog page and the delivery page in a real browser (headless
Chromium), and the PDF report rendered as a picture. The screenshots land in var/docs/screenshots/ (`make docs`
updates the copies in docs/screenshots/ that the README shows)."""

import shutil
import subprocess
import tempfile

import pytest
from PIL import Image, ImageStat

from tests.conftest import GENERATED_DOCS, import_lab

webdriver = pytest.importorskip("selenium.webdriver")

SCREENSHOTS = GENERATED_DOCS / "screenshots"
LAB = ["Apple", "Avocado", "Blackberry", "Grape", "Kiwifruit", "Lemon", "Mango", "Plum", "Strawberry", "Watermelon"]
# Every image on the page, scrolled into view (the catalog loads them lazily), then its natural size once loaded.
IMAGE_SIZES = """
const done = arguments[arguments.length - 1];
const images = Array.from(document.images);
images.forEach(image => { image.loading = 'eager'; image.scrollIntoView(); });
const settled = () => images.every(image => image.complete);
const report = () => done(images.map(image => [image.getAttribute('src'), image.naturalWidth, image.naturalHeight]));
(function wait(left) { if (settled() || left === 0) { window.scrollTo(0, 0); report(); } else setTimeout(() => wait(left - 1), 100); })(100);
"""


@pytest.fixture(scope="module")
def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    profile = tempfile.mkdtemp(prefix="chromium-")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-quic", "--window-size=1280,1000", "--user-data-dir=" + profile):
        options.add_argument(flag)
    service = webdriver.ChromeService(executable_path=shutil.which("chromedriver") or "/usr/bin/chromedriver")
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_script_timeout(30)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def imported(store_factory, lab_delivery, tmp_path_factory):
    imported = import_lab(store_factory, lab_delivery, tmp_path_factory)
    assert imported["runs"][0].returncode == 0, imported["runs"][0].output
    return imported["store"], imported["delivery"]


def full_page_screenshot(driver, path):
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, min(max(height + 120, 600), 6000))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    driver.set_window_size(1280, 1000)


def test_the_catalog_lists_every_product_once_with_its_picture(browser, imported):
    store, _delivery = imported
    browser.get(store.url + "/")
    assert browser.title == "Fruit Catalog"
    names = [element.text for element in browser.find_elements("css selector", ".card h2")]
    assert sorted(names) == sorted(LAB)
    sizes = browser.execute_async_script(IMAGE_SIZES)
    assert len(sizes) == 10
    assert all((width, height) == (600, 400) for _src, width, height in sizes), sizes
    full_page_screenshot(browser, SCREENSHOTS / "catalog.png")


def test_the_delivery_page_shows_each_picture_beside_its_description(browser, imported):
    _store, delivery = imported
    browser.get((delivery / "delivery.html").as_uri())
    names = [element.text for element in browser.find_elements("css selector", "article h2")]
    assert names == LAB
    assert [status.text for status in browser.find_elements("css selector", ".status")] == ["in the store, brought by this delivery"] * 10
    sizes = browser.execute_async_script(IMAGE_SIZES)
    assert [(width, height) for _src, width, height in sizes] == [(600, 400)] * 10
    full_page_screenshot(browser, SCREENSHOTS / "delivery.png")


def test_the_report_renders_as_a_page_with_content(imported, tmp_path):
    _store, delivery = imported
    subprocess.run(["pdftoppm", "-r", "70", "-png", "-f", "1", "-l", "1", "-singlefile",
                    str(delivery / "processed.pdf"), str(tmp_path / "report")], check=True)
    with Image.open(tmp_path / "report.png") as page:
        greyscale = page.convert("L")
        assert greyscale.getextrema()[0] < 100, "dark text on the page"
        assert ImageStat.Stat(greyscale).stddev[0] > 20, "not a blank page"
        colours = page.convert("RGB").resize((64, 64)).getcolors(64 * 64)
        assert len(colours) > 50, "the product pictures are there"
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.save(SCREENSHOTS / "report.png")
