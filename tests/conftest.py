"""Fixtures shared by the project's tests: the real store, a real SMTP server, supplier deliveries.

The servers themselves, these and the ones that go wrong (relays that refuse or drip, a fault-injecting proxy in
front of the store), are the one set in tools/services.py."""

import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# What the tests write for people to read (the fault table, the screenshots), gitignored: a test run leaves the
# repository as it was. `make docs` runs those tests and copies this over the tracked docs/.
GENERATED_DOCS = REPO / "var" / "docs"
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tools import services  # noqa: E402
from tools.generate_delivery import generate  # noqa: E402

# The tiers of pytest.ini, by where a test lives (the first match wins).
TIERS = [
    ("tests/unit/", ("unit",)),
    ("tests/integration/test_schedule.py", ("e2e", "root", "slow")),
    ("tests/release/test_readme_commands.py", ("e2e", "root", "slow")),
    ("tests/release/test_pillow_minimum.py", ("e2e", "slow")),
    ("tests/release/test_judges.py", ("e2e", "slow")),
    ("tests/release/test_build_and_install.py", ("e2e", "slow")),
    ("tests/integration/", ("e2e", "slow")),
    ("tests/faults/test_faults.py", ("e2e", "slow")),
    ("tests/ui/", ("e2e", "slow")),
    ("tests/release/test_docs.py", ("e2e", "slow")),
    ("tests/release/test_execution_environment.py", ("e2e", "slow")),
    ("tests/", ("e2e",)),
]


def pytest_collection_modifyitems(items):
    for item in items:
        where = Path(str(item.fspath)).relative_to(REPO).as_posix()
        for prefix, markers in TIERS:
            if where.startswith(prefix):
                for marker in markers:
                    item.add_marker(marker)
                break


@pytest.fixture(scope="module")
def store_factory(tmp_path_factory):
    """start(serve_media=True, **env) -> a running store with its own data dir; stopped when the module ends."""
    started = []

    def start(serve_media=True, **environment):
        store = services.Store(tmp_path_factory.mktemp("store"), serve_media=serve_media, environment=environment)
        started.append(store)
        return store.start()

    yield start
    for store in started:
        store.stop()


@pytest.fixture
def mail_server(tmp_path):
    """The relay (aiosmtpd) in a process of its own on a free port, keeping every message it receives in a
    maildir: .host, .port, .messages()."""
    with services.MailServer(tmp_path / "maildir") as server:
        yield server


@pytest.fixture(scope="session")
def lab_delivery(tmp_path_factory):
    """The lab's ten products, 3000x2000 RGBA uncompressed TIFFs; copy it before changing it."""
    path = tmp_path_factory.mktemp("lab-delivery")
    generate(str(path), count=10)
    return path


def copy_of(delivery, directory):
    """A copy of a generated delivery, directory/supplier-data, that a test may change."""
    copy = Path(directory) / "supplier-data"
    shutil.copytree(delivery, copy)
    return copy


@pytest.fixture
def delivery(lab_delivery, tmp_path):
    """A fresh copy of the lab's delivery that a test may change."""
    return copy_of(lab_delivery, tmp_path)


def import_lab(store_factory, lab_delivery, tmp_path_factory, runs=1):
    """A copy of the lab's delivery imported `runs` times into a fresh store, with a real mail server.

    Returns dict(delivery, store, runs (PlaybookRun each), posts (the store's POSTs after each run), messages)."""
    from tests.integration.playbook import run_import

    delivery = copy_of(lab_delivery, tmp_path_factory.mktemp("import"))
    store = store_factory()
    results, posts = [], []
    with services.MailServer(tmp_path_factory.mktemp("mail") / "maildir") as mail:
        for _run in range(runs):
            results.append(run_import(delivery, store, mail))
            posts.append(store.requests("POST"))
        messages = mail.messages()
    return dict(delivery=delivery, store=store, runs=results, posts=posts, messages=messages)
