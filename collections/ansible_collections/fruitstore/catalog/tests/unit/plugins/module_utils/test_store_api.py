# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import time

from ansible_collections.fruitstore.catalog.plugins.module_utils import _store_api as api


def test_the_watchdog_cuts_each_request_at_its_own_deadline():
    watchdog = api._Watchdog()
    start = time.monotonic()
    late, soon, later = api._Watch(), api._Watch(), api._Watch()
    watchdog.watch(start + 0.6, late)
    watchdog.watch(start + 0.2, soon)  # earlier than the deadline the watchdog waits for: it is woken up
    watchdog.watch(start + 0.9, later)  # later: it is not, and still cut in time
    assert soon.expired.wait(2) and time.monotonic() - start < 0.5
    assert not late.expired.is_set()
    assert late.expired.wait(2) and time.monotonic() - start >= 0.6
    assert not later.expired.is_set()
    assert later.expired.wait(2) and time.monotonic() - start >= 0.9
