# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible.module_utils import basic
from ansible.module_utils.common import warnings
from ansible.module_utils.testing import patch_module_args

from ansible_collections.fruitstore.catalog.plugins.module_utils import _catalog_sync


class AnsibleExitJson(Exception):
    pass


class AnsibleFailJson(Exception):
    pass


@pytest.fixture
def run_module(monkeypatch):
    """run_module(module, args, check_mode=False, diff=False) -> the result dict; raises AnsibleFailJson on failure."""
    def exit_json(self, **result):
        raise AnsibleExitJson(result)

    def fail_json(self, **result):
        raise AnsibleFailJson(result)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)

    def run(module, args, check_mode=False, diff=False):
        args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
        with patch_module_args(args):
            try:
                module.main()
            except AnsibleExitJson as done:
                return done.args[0]
        raise AssertionError("the module neither exited nor failed")

    return run


@pytest.fixture
def deprecations(monkeypatch):
    """() -> (first sentence of the message, version, collection) of each deprecation this test's module runs told."""
    monkeypatch.setattr(warnings, "_global_deprecations", {})  # the module's own record, kept for one test only
    return lambda: sorted((entry["msg"].split(".")[0], entry["version"], entry["collection_name"])
                          for entry in warnings.get_deprecation_messages())


class FakeStore:
    """What a store holds, and the client the module talks to it with."""

    products = []
    images = []

    def __init__(self, settings, pool_size=4):
        self.base = settings.url
        self.posts = 0

    def list_products(self):
        return [dict(product) for product in FakeStore.products]

    def media_matches(self, image_name, sha256):
        return None

    def media_status(self, image_name):
        return 404

    def upload_image(self, path, image_name, sha256):
        FakeStore.images.append(image_name)
        self.posts += 1

    def create_product(self, product):
        FakeStore.products.append({key: product[key] for key in ("name", "weight", "description", "image_name")})
        self.posts += 1

    def close(self):
        pass


@pytest.fixture
def store(monkeypatch):
    FakeStore.products, FakeStore.images = [], []
    monkeypatch.setattr(_catalog_sync, "StoreClient", FakeStore)
    return FakeStore
