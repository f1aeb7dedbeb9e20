# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import threading

import pytest

from ansible_collections.fruitstore.catalog.plugins.module_utils import _delivery as delivery
from ansible_collections.fruitstore.catalog.plugins.module_utils._catalog_sync import UploadFailed
from ansible_collections.fruitstore.catalog.plugins.module_utils._conversion import ConversionSettings
from ansible_collections.fruitstore.catalog.plugins.module_utils._settings import DeliveryPaths, Run
from ansible_collections.fruitstore.catalog.plugins.module_utils._store_api import StoreSettings

SETTINGS = delivery.ImportSettings(ConversionSettings(), StoreSettings("http://store.test/"))


@pytest.fixture
def uploads(monkeypatch):
    """The upload_delivery calls of UploadAlongside: each (thread it ran on, images); it returns (path, ready?)."""
    calls = []

    def upload_delivery(run, paths, store, images, workers, restock, ready):
        calls.append((threading.current_thread(), images))
        return [(path, ready(path)) for path in images]

    monkeypatch.setattr(delivery, "upload_delivery", upload_delivery)
    return calls


def test_the_upload_starts_once_the_processes_are_forked_and_waits_for_each_image(uploads):
    alongside = delivery.UploadAlongside(Run(), DeliveryPaths(), SETTINGS)
    alongside.planned(["/d/001.jpeg"], ["/d/003.jpeg", "/d/002.jpeg"])
    assert alongside.thread is None  # no thread before the conversion's processes are forked
    alongside.forked()
    alongside.converted("/d/002.jpeg")
    assert alongside.thread.is_alive()  # running, waiting for 003
    alongside.finish()  # 003 was not converted
    assert not alongside.thread.is_alive()
    assert alongside.result() == [("/d/001.jpeg", True), ("/d/002.jpeg", True), ("/d/003.jpeg", False)]
    assert uploads[0][1] == ["/d/001.jpeg", "/d/002.jpeg", "/d/003.jpeg"]


def test_after_a_failed_conversion_nothing_more_is_taken(uploads):
    alongside = delivery.UploadAlongside(Run(), DeliveryPaths(), SETTINGS)
    alongside.planned([], ["/d/001.jpeg", "/d/002.jpeg"])
    alongside.forked()
    alongside.converted("/d/001.jpeg")
    alongside.finish(failed=True)
    assert alongside.outcome[1] == ("/d/002.jpeg", False)  # 001 may have been taken before the failure


def test_with_nothing_to_convert_the_upload_runs_in_the_callers_thread(uploads):
    alongside = delivery.UploadAlongside(Run(), DeliveryPaths(), SETTINGS)
    alongside.planned(["/d/001.jpeg"], [])
    alongside.finish()
    assert alongside.result() == [("/d/001.jpeg", True)]
    assert uploads[0][0] is threading.current_thread()


def test_what_the_upload_raised_is_raised_by_result(monkeypatch):
    def refused(run, paths, store, images, workers, restock, ready):
        raise UploadFailed("the store refused")

    monkeypatch.setattr(delivery, "upload_delivery", refused)
    alongside = delivery.UploadAlongside(Run(), DeliveryPaths(), SETTINGS)
    alongside.planned([], ["/d/001.jpeg"])
    alongside.forked()
    alongside.converted("/d/001.jpeg")
    alongside.finish()
    with pytest.raises(UploadFailed, match="the store refused"):
        alongside.result()
