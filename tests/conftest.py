"""Fixtures shared by the project's tests: the real store, a real SMTP server, supplier deliveries."""

import os
import shutil
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tools import services  # noqa: E402
from tools.generate_delivery import generate  # noqa: E402


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
    """aiosmtpd on a free port, keeping every message it receives."""
    with services.MailServer(tmp_path / "maildir") as server:
        yield server


@pytest.fixture(scope="session")
def lab_delivery(tmp_path_factory):
    """The lab's ten products, 3000x2000 RGBA uncompressed TIFFs; copy it before changing it."""
    path = tmp_path_factory.mktemp("lab-delivery")
    generate(str(path), count=10)
    return path


@pytest.fixture
def delivery(lab_delivery, tmp_path):
    """A fresh copy of the lab's delivery that a test may change."""
    copy = tmp_path / "supplier-data"
    shutil.copytree(lab_delivery, copy)
    return copy
