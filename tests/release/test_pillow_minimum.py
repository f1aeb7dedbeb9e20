"""Pillow's minimum, declared once: PILLOW_MIN_VERSION in the collection's plugins/module_utils/_images.py, named
alike by requirements.txt and the converting modules' documentation, and converting with exactly that version (a
venv of its own, cached in var/pillow-oldest/) as with the project's Pillow, within a small pixel tolerance."""

import json
import re
import subprocess
import sys
import sysconfig

import pytest
from PIL import Image, ImageChops, ImageStat

from tests.conftest import REPO
from tests.integration.playbook import environment
from tests.release.conftest import COLLECTION, ansible_doc
from tools.generate_delivery import generate

sys.path.insert(0, str(REPO / "collections"))
from ansible_collections.fruitstore.catalog.plugins.module_utils import _images  # noqa: E402

MINIMUM = _images.PILLOW_MIN_VERSION
OLDEST = REPO / "var" / "pillow-oldest" / MINIMUM
# JPEGs of the same pixels from two Pillow releases: their libjpeg builds may round a little differently.
MEAN_DIFFERENCE_MAX = 0.5  # per channel, in 0-255
MAX_DIFFERENCE = 12


# The import's modules: the converting ones are among them.
MODULES = sorted(path.stem for path in (COLLECTION / "plugins/modules").glob("*.py"))


def version(text):
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def test_the_minimum_is_the_same_in_requirements_txt_and_every_module_doc():
    requirements = (COLLECTION / "requirements.txt").read_text()
    assert re.findall(r"^Pillow\b.*$", requirements, re.MULTILINE) == ["Pillow>=" + MINIMUM]
    docs = json.loads(ansible_doc("--json", *("fruitstore.catalog." + module for module in MODULES)))
    documented = {module: [r for r in docs["fruitstore.catalog." + module]["doc"].get("requirements", [])
                           if r.startswith("Pillow")] for module in MODULES}
    checking = {module for module in MODULES
                if "images.pillow_problem()" in (COLLECTION / "plugins/modules" / (module + ".py")).read_text()}
    assert checking == {"image_convert", "delivery_import", "inbox_import"}
    assert {module: found for module, found in documented.items() if found} == {
        module: ["Pillow >= " + MINIMUM] for module in checking}, "modules that convert document the minimum they check"
    assert "Pillow %s or newer" % MINIMUM in " ".join((COLLECTION / "README.md").read_text().split())
    pinned = re.search(r"^pillow==(\S+)", (REPO / "requirements.txt").read_text(), re.MULTILINE | re.IGNORECASE).group(1)
    assert version(pinned) >= version(MINIMUM), "the project pins a Pillow older than the collection's minimum"


@pytest.fixture(scope="module")
def oldest_pillow():
    """The Python of a venv with Pillow == the minimum from PyPI, made once and kept in var/ for the next runs."""
    python = OLDEST / "bin" / "python"
    stamp = OLDEST / "installed"
    if not stamp.is_file():
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(OLDEST)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "Pillow==" + MINIMUM],
                       check=True, timeout=600)
        stamp.write_text(MINIMUM + "\n")
    installed = subprocess.run([str(python), "-c", "import PIL; print(PIL.__version__)"], capture_output=True,
                               text=True, check=True).stdout.strip()
    assert installed == MINIMUM
    return python


@pytest.fixture(scope="module")
def supplier_tiffs(tmp_path_factory):
    """Three 3000x2000 RGBA uncompressed TIFFs, as suppliers deliver them."""
    delivery = tmp_path_factory.mktemp("oldest-pillow-delivery")
    generate(str(delivery), count=3)
    return delivery / "images"


def convert(images_dir, dest, python=None):
    """image_convert run as users run it, with python as the module's interpreter (default: the project's)."""
    dest.mkdir()
    command = ["ansible", "localhost", "-m", "fruitstore.catalog.image_convert", "-a",
               json.dumps({"images_dir": str(images_dir), "dest": str(dest), "manifest": str(dest / "manifest.json")})]
    if python:
        command += ["-e", "ansible_python_interpreter=%s" % python]
    run = subprocess.run(command, cwd=str(REPO), env=environment(), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    return sorted(dest.glob("*.jpeg"))


def test_the_oldest_declared_pillow_converts_like_the_current_one(oldest_pillow, supplier_tiffs, tmp_path):
    facts = subprocess.run(["ansible", "localhost", "-m", "ansible.builtin.setup", "-a", "filter=ansible_python", "-e",
                            "ansible_python_interpreter=%s" % oldest_pillow, "-o"], cwd=str(REPO), env=environment(),
                           capture_output=True, text=True, timeout=120)
    assert '"executable": "%s"' % oldest_pillow in facts.stdout, "Ansible does not run the modules with the venv's Python"
    old = convert(supplier_tiffs, tmp_path / "oldest", python=oldest_pillow)
    new = convert(supplier_tiffs, tmp_path / "current")
    assert [path.name for path in old] == [path.name for path in new] == ["001.jpeg", "002.jpeg", "003.jpeg"]
    for old_jpeg, new_jpeg in zip(old, new):
        with Image.open(old_jpeg) as a, Image.open(new_jpeg) as b:
            assert a.size == b.size == (600, 400) and a.mode == b.mode == "RGB"
            difference = ImageChops.difference(a, b)
            mean = max(ImageStat.Stat(difference).mean)
            largest = max(high for _low, high in difference.getextrema())
        assert mean <= MEAN_DIFFERENCE_MAX and largest <= MAX_DIFFERENCE, \
            "%s: Pillow %s and the project's differ by %.2f on average, %d at most" % (
                old_jpeg.name, MINIMUM, mean, largest)


def test_the_oldest_declared_pillow_takes_the_fast_path(oldest_pillow, supplier_tiffs):
    """The conversion's shortcut through Pillow's internals (its TIFF reader's tile records) works on the minimum,
    rather than the conversion falling back or failing there: the collection's own code, run in that venv."""
    probe = """
import sys
sys.path[:0] = [sys.argv[1]]
sys.path.append(sys.argv[2])  # ansible's module_utils, after the venv's own Pillow
import PIL
from ansible_collections.fruitstore.catalog.plugins.module_utils import _images
assert _images.pillow_problem() is None
for path in sys.argv[3:]:
    image, alpha_in_band_4, orientation = _images._open_fast(path)
    assert alpha_in_band_4 and image.mode == "RGBX" and len(image.tile) == 1, (path, image.mode, image.tile)
print(PIL.__version__)
"""
    tiffs = sorted(str(path) for path in supplier_tiffs.glob("*.tiff"))
    run = subprocess.run([str(oldest_pillow), "-c", probe, str(REPO / "collections"), sysconfig.get_paths()["purelib"]]
                         + tiffs, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and run.stdout.strip() == MINIMUM, run.stdout + run.stderr
