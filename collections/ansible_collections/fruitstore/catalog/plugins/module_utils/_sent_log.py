# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.catalog collection; not a public API.

from __future__ import annotations

import json

from ansible_collections.fruitstore.catalog.plugins.module_utils._files import ensure_parent, write_atomically


class SentLog:
    """Keys of the messages already sent, in a small JSON file."""

    def __init__(self, path):
        self.path = path
        try:
            with open(path) as handle:
                self.keys = json.load(handle)
        except (OSError, ValueError):
            self.keys = {}

    def __contains__(self, key):
        return key in self.keys

    def add(self, key, message_id):
        self.keys[key] = message_id
        ensure_parent(self.path)
        write_atomically(self.path, json.dumps(self.keys, indent=1, sort_keys=True).encode())
