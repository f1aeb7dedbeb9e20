# Copyright (c) fruitstore contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.fruitstore.catalog.plugins.modules import delivery_import, inbox_import, product_upload

from .conftest import AnsibleFailJson


@pytest.mark.parametrize("module, args", [
    (product_upload, {"descriptions_dir": "/d", "images": []}),
    (delivery_import, {"descriptions_dir": "/d", "images_dir": "/i"}),
    (inbox_import, {"inbox": "/i", "supplier": "acme"}),
], ids=lambda value: getattr(value, "__name__", "").rsplit(".", 1)[-1] or None)
def test_every_module_that_talks_to_the_store_wants_a_user_and_a_password_together(run_module, module, args):
    with pytest.raises(AnsibleFailJson, match="parameters are required together: url_username, url_password"):
        run_module(module, dict(args, store_url="http://store.test/", url_username="ops"))
