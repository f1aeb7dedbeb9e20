# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# PRIVATE to the fruitstore.catalog collection; not a public API.

from __future__ import annotations

import json

from ansible_collections.fruitstore.catalog.plugins.module_utils._files import (
    ensure_parent,
    load_json_state,
    shape,
    write_atomically,
)


class SentLog:
    """Keys of the messages already sent, in a small JSON file."""

    def __init__(self, path, warn):
        self.path = path
        warnings = []
        self.keys = load_json_state(path, _problem, lambda text: warnings.append(text) or warn(text),
                                    "sent-mail record") or {}
        self.damaged = bool(warnings)  # whether a mail went out cannot be told any more

    def __contains__(self, key):
        return key in self.keys

    def add(self, key, message_id):
        self.keys[key] = message_id
        ensure_parent(self.path)
        write_atomically(self.path, json.dumps(self.keys, indent=1, sort_keys=True).encode())


def _problem(value):
    problem = shape(value, dict, "an object")
    if problem:
        return problem
    if not all(isinstance(key, str) and isinstance(message_id, str) for key, message_id in value.items()):
        return "its entries are not message keys and Message-IDs"
    return None
